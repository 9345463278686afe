import ElectraKernels

/// How a parameter is initialised when a checkpoint lacks it, and whether weight decay
/// applies (HF and ELECTRA skip LayerNorm weights and all biases).
public enum ParameterRole: Sendable {
    case linearWeight, embedding, bias, layerNormWeight, layerNormBias

    public var decays: Bool { self == .linearWeight || self == .embedding }

    /// Whether HF's initialisation draws this role at random (else it is a constant).
    var isDrawn: Bool { self == .linearWeight || self == .embedding }

    /// HF's `_init_weights`: linear weights and embeddings normal(0, std), LayerNorm weights 1,
    /// biases 0. Used for weights a checkpoint lacks and for re-drawn layers.
    func initialize(_ t: Tensor, std: Float, rng: inout Xoshiro256) {
        switch self {
        case .linearWeight, .embedding: t.fillNormal(std: std, rng: &rng)
        case .layerNormWeight: t.fill(1)
        case .bias, .layerNormBias: t.fill(0)
        }
    }
}

/// A trainable tensor. A reference type on purpose: tying or sharing a weight between two
/// modules (generator and discriminator embeddings, the MLM head and the word embeddings)
/// is just two modules holding the same `Parameter`, and the optimizer sees it once.
public final class Parameter: @unchecked Sendable {
    /// Replacing the tensor counts as a change (see `version`).
    public var value: Tensor { didSet { version &+= 1 } }
    /// Counts changes to the values, so that copies derived from them (the inference weight
    /// layout, InferenceLayout.swift) know when to rebuild. The library bumps it wherever it
    /// writes weights (optimizer steps, checkpoint restores); code that writes through
    /// `pointer` itself calls `markChanged()` afterwards.
    public private(set) var version = 0
    public func markChanged() { version &+= 1 }
    /// Gradient buffer, same shape as `value`; allocated by the trainer.
    public var grad: Tensor?
    public let role: ParameterRole

    public init(_ value: Tensor, role: ParameterRole) {
        self.value = value
        self.role = role
    }

    public var shape: [Int] { value.shape }

    /// The gradient buffer, allocated (zeroed) on first use.
    public var gradPointer: UnsafeMutablePointer<Float> {
        if grad == nil { grad = Tensor(zeros: value.shape) }
        return grad!.pointer
    }

    @inline(__always) public var pointer: UnsafeMutablePointer<Float> { value.pointer }
}

/// The table from HF names to parameters. A tied parameter appears under every name that
/// HF would give it; `uniqueParameters` lists each object once (what an optimizer wants).
public final class ParameterTable: @unchecked Sendable {
    public private(set) var entries: [(name: String, parameter: Parameter)] = []
    private var byName: [String: Parameter] = [:]
    /// Names that are aliases of another entry (tied weights): not written on save when the
    /// config ties them, as HF does.
    public private(set) var tiedNames: Set<String> = []

    public init() {}

    public func register(_ name: String, _ p: Parameter, tied: Bool = false) {
        precondition(byName[name] == nil, "parameter \(name) registered twice")
        entries.append((name, p))
        byName[name] = p
        if tied { tiedNames.insert(name) }
    }

    public subscript(name: String) -> Parameter? { byName[name] }
    public var names: [String] { entries.map(\.name) }

    public var uniqueParameters: [(name: String, parameter: Parameter)] {
        var seen = Set<ObjectIdentifier>()
        return entries.filter { seen.insert(ObjectIdentifier($0.parameter)).inserted }
    }

    /// Number of scalars, each shared tensor counted once (HF's `num_parameters()`).
    public var parameterCount: Int { uniqueParameters.reduce(0) { $0 + $1.parameter.value.count } }
}

extension ParameterTable {
    /// Zero gradients for every unique parameter, allocated on first use (PyTorch's
    /// `zero_grad(set_to_none=False)`): the one way gradients are zeroed, so that a tied or
    /// shared weight is zeroed once and backward passes can accumulate (+=).
    public func zeroGradients() {
        let params = uniqueParameters.map(\.parameter)
        for p in params where p.grad == nil || p.grad!.shape != p.shape { p.grad = Tensor(zeros: p.shape) }
        let grads = params.map { $0.grad! }
        FlatSegments(counts: grads.map(\.count)).parallelForEach(minChunk: 1 << 18) { _, k, r in
            (grads[k].pointer + r.lowerBound).update(repeating: 0, count: r.count)
        }
    }
}
