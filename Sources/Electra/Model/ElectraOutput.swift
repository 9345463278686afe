import ElectraKernels

/// HF's model output fields. Which are set depends on the head.
public struct ElectraOutput: Sendable {
    public var loss: Float?
    public var logits: Tensor?
    public var startLogits: Tensor?
    public var endLogits: Tensor?
    public var lastHiddenState: Tensor?
    /// Embedding output (after embeddings_project) then every layer: each [B, L, H].
    public var hiddenStates: [Tensor]?
    /// Every layer's attention probabilities: each [B, heads, L, L].
    public var attentions: [Tensor]?

    public init() {}

    public init(loss: Float?, logits: Tensor?) {
        self.loss = loss
        self.logits = logits
    }

    mutating func attach(_ extras: BackboneExtras, _ options: ForwardOptions) {
        if options.outputHiddenStates { hiddenStates = extras.hiddenStates }
        if options.outputAttentions { attentions = extras.attentions }
    }

    /// Tensors under HF's output names, as `electra infer` writes them:
    /// loss [1], logits, start_logits, end_logits, last_hidden_state,
    /// hidden_states.0 ... hidden_states.N, attentions.0 ... attentions.N-1.
    public var namedTensors: [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        if let loss { out.append(("loss", Tensor(shape: [1], values: [loss]))) }
        if let logits { out.append(("logits", logits)) }
        if let startLogits { out.append(("start_logits", startLogits)) }
        if let endLogits { out.append(("end_logits", endLogits)) }
        if let lastHiddenState { out.append(("last_hidden_state", lastHiddenState)) }
        for (i, h) in (hiddenStates ?? []).enumerated() { out.append(("hidden_states.\(i)", h)) }
        for (i, a) in (attentions ?? []).enumerated() { out.append(("attentions.\(i)", a)) }
        return out
    }
}
