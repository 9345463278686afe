import ElectraKernels
import Foundation

/// The inference weight layout: each encoder `Linear` also keeps its weight packed for
/// products over few rows: in panels of 16 outputs on AVX-512 CPUs (PanelGemm, our kernel, up
/// to 48 rows), else as [in, out] for OpenBLAS.
///
/// Why: HF stores `nn.Linear` weights [out, in], and `x · Wᵀ` makes OpenBLAS repack the weight
/// on every call. With few rows (one short request) that copy, not the arithmetic, is most of
/// the time. Measured in one process, alternating forwards (`electra bench --weight-layout
/// both`, BENCHMARKS.md): panels on Emerald Rapids, B1 L16 1.85x (small), 1.66x (base), even
/// at 64 tokens and B32 L128 (OpenBLAS runs those); [in, out] on Zen 3, B1 L16 10-12% (small),
/// 18% (base), B1 L64 5%, large batches 3-5%.
/// Cost: a second copy of those weights (small +38 MB, base +340 MB, large +1.2 GB), so it is
/// off in the library by default; `electra bench` turns it on (`--weight-layout hf` not) and
/// `electra predict` for 32+ lines (one forward, as in `infer`, does not repay the copy). The HF-named [out, in] parameters stay what loading, saving, backward passes and
/// optimizers see; the copy follows their `version` and is rebuilt after any change.
/// `DerivedWeight` holds it (and the int8 copy, Quantization.swift): built on the first forward
/// while enabled, rebuilt when the source parameters' versions move.
final class DerivedWeight<Value>: @unchecked Sendable {
    private let lock = NSLock()
    /// The parameters whose values make up the weight: itself, or the HF-named parts of a
    /// fused block (what optimizers update).
    private let sources: [Parameter]
    private var enabled = false
    private var value: Value?
    private var builtAt = 0

    init(sources: [Parameter]) { self.sources = sources }

    /// Off frees the copy.
    func setEnabled(_ on: Bool) {
        lock.lock()
        defer { lock.unlock() }
        enabled = on
        if !on { value = nil }
    }

    /// `measure` of the copy (nil until a forward builds it).
    func measure<R>(_ measure: (Value?) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return measure(value)
    }

    /// The copy, current with the sources' versions (`build` gets the previous copy to reuse
    /// its memory); nil when off.
    func current(_ build: (Value?) -> Value) -> Value? {
        lock.lock()
        defer { lock.unlock() }
        guard enabled else { return nil }
        // Versions only grow, so their sum changes whenever any source changes.
        let version = sources.reduce(0) { $0 &+ $1.version }
        if value == nil || builtAt != version {
            value = build(value)
            builtAt = version
        }
        return value
    }
}

extension ElectraBackbone {
    /// The encoder's products, the ones the inference layout applies to.
    var layoutLinears: [Linear] {
        layers.flatMap { [$0.qkv, $0.attentionOutput, $0.intermediate, $0.output] } + (embeddingsProject.map { [$0] } ?? [])
    }

    /// Turns the inference weight layout (InferenceLayout.swift) on or off; off frees the copies.
    /// Waits for a running inference forward, so none loses a copy it is reading.
    public func setInferenceWeightLayout(_ on: Bool) {
        lock.lock()
        defer { lock.unlock() }
        for l in layoutLinears { l.packed.setEnabled(on) }
    }

    /// Bytes held by the inference layout's copies.
    public var inferenceWeightLayoutBytes: Int {
        layoutLinears.reduce(0) { $0 + $1.packed.measure { $0?.count ?? 0 } } * MemoryLayout<Float>.stride
    }
}

extension ElectraHeadModel {
    /// `backbone.setInferenceWeightLayout(on)`: faster forwards for few tokens, at the memory
    /// of a second copy of the encoder's weights (InferenceLayout.swift).
    public func setInferenceWeightLayout(_ on: Bool) { backbone.setInferenceWeightLayout(on) }
}
