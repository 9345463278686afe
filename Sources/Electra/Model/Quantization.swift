import ElectraKernels
import Foundation

/// The number format inference runs its encoder products in.
public enum InferenceDType: String, Sendable, CaseIterable {
    /// The reference: every product in fp32.
    case fp32
    /// Dynamic quantization (QuantizedWeight): the encoder's linear layers (Q|K|V, attention
    /// output, intermediate, output, embeddings_project) in int8 with fp32 scales; embeddings,
    /// LayerNorm, softmax, attention's own products and the heads stay fp32, as ONNX Runtime's
    /// quantize_dynamic and PyTorch's dynamic quantization leave them.
    case int8
    /// The same linear layers with bf16 weights (rounded once) and bf16-rounded activations,
    /// accumulated in fp32 (BF16Weight: AMX or AVX512-BF16 through oneDNN, else the portable
    /// path with the same rounding); everything else in fp32, as for int8.
    case bf16
}

extension InferenceDType {
    /// What a user's request for this format runs as on this CPU: bf16 becomes fp32 where bf16
    /// products would be slower than fp32 (`BF16Kernel.route`: no AMX-BF16, unless
    /// ELECTRA_BF16 asks); the rest as asked. Commands and pipelines resolve requests through this;
    /// `setInferenceDType` is literal.
    public var resolved: InferenceDType { self == .bf16 && BF16Kernel.route == .fp32 ? .fp32 : self }
}

extension ElectraBackbone {
    /// Runs the encoder's products in `dtype` from the next forward on (int8 or bf16 copies
    /// are built then, and follow weight changes). Training needs fp32: `forwardBackward` on a
    /// model set to int8 is an error.
    public func setInferenceDType(_ dtype: InferenceDType) {
        lock.lock()
        defer { lock.unlock() }
        inferenceDType = dtype
        for l in layoutLinears {
            l.int8.setEnabled(dtype == .int8)
            l.bf16.setEnabled(dtype == .bf16)
        }
    }

    /// Bytes held by the int8 copies (0 until a forward builds them).
    public var int8WeightBytes: Int { layoutLinears.reduce(0) { $0 + $1.int8.measure { $0?.byteCount ?? 0 } } }

    /// Bytes held by the bf16 copies (0 until a forward builds them).
    public var bf16WeightBytes: Int { layoutLinears.reduce(0) { $0 + $1.bf16.measure { $0?.byteCount ?? 0 } } }
}

extension ElectraHeadModel {
    /// `backbone.setInferenceDType(dtype)` (Quantization.swift).
    public func setInferenceDType(_ dtype: InferenceDType) { backbone.setInferenceDType(dtype) }
}
