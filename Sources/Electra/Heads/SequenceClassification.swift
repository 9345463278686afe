import ElectraKernels

/// HF `ElectraForSequenceClassification`: token 0 -> dropout -> classifier.dense (H->H) ->
/// gelu -> dropout -> classifier.out_proj (H->num_labels).
public final class ElectraForSequenceClassification: ElectraHeadModel, ElectraTrainable, HeadPass {
    public static let architecture = "ElectraForSequenceClassification"
    public let config: ElectraConfig
    public let backbone: ElectraBackbone
    public let parameters: ParameterTable
    public let dense: Linear
    public let outProj: Linear

    public init(config c: ElectraConfig, builder vb: ParameterBuilder) throws {
        config = c
        backbone = try ElectraBackbone(vb.pp("electra"), config: c)
        let head = vb.pp("classifier")
        dense = try head.linear("dense", in: c.hiddenSize, out: c.hiddenSize)
        outProj = try head.linear("out_proj", in: c.hiddenSize, out: c.numLabels)
        parameters = vb.table
    }

    /// The problem type HF would infer: config's, else from num_labels and the label type.
    public func problemType(for inputs: ElectraInputs) -> ProblemType {
        if let p = config.problemType { return p }
        if config.numLabels == 1 { return .regression }
        return inputs.labels != nil ? .singleLabel : .multiLabel
    }

    /// logits [B, num_labels]; loss per problem type (MSE, CE, BCE-with-logits).
    public func callAsFunction(_ inputs: ElectraInputs, options: ForwardOptions) throws -> ElectraOutput {
        try inferencePass(inputs, options: options)
    }

    public func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput {
        try trainingPass(inputs, dropout: dropout)
    }

    /// [B, H] tensors, the two dropout masks (nil when off), d loss / d logits [B, C].
    struct Activations { let cls, pre, act: Tensor; let clsMask, actMask: Tensor?; let dLogits: Tensor }
    static let flattensChoices = false
    static let trainingLabels = "labels: class ids [batch], or floats ([batch] regression, [batch, num_labels] multi-label)"

    /// h [N, H] -> token 0 of each sequence -> dropout -> dense -> gelu -> dropout -> out_proj.
    func headForward(_ h: Tensor, _ batch: TokenBatch, _ inputs: ElectraInputs, training: HeadTraining?)
        throws -> (ElectraOutput, Activations?) {
        let H = config.hiddenSize, C = config.numLabels
        let p = config.effectiveClassifierDropout
        // Packed sequences: token 0 of each is the row where it starts.
        let B = batch.segments.map { $0.count - 1 } ?? batch.batch
        let first = Tensor(zeros: [B, H])
        if let seg = batch.segments {
            gatherRows(h.pointer, rows: Array(seg.dropLast()), width: H, into: first.pointer)
        } else {
            summarizeSequences(h.pointer, into: first.pointer, sequences: B, length: batch.length, width: H, mode: .first)
        }
        let (cls, clsMask) = headDropout(first, p: p, training)
        let pre = Tensor(zeros: [B, H])
        dense.forward(pre.pointer, cls.pointer, rows: B)
        let (act, actMask) = headDropout(activated(.gelu, pre, keep: training != nil), p: p, training)
        let logits = Tensor(zeros: [B, C])
        outProj.forward(logits.pointer, act.pointer, rows: B)
        let dLogits = lossGradient([B, C], training)
        var out = ElectraOutput(loss: nil, logits: logits)
        if hasLabels(inputs) { out.loss = try classificationLoss(logits: logits, inputs: inputs, batch: B, grad: dLogits?.pointer) }
        return (out, dLogits.map { Activations(cls: cls, pre: pre, act: act, clsMask: clsMask, actMask: actMask, dLogits: $0) })
    }

    func headBackward(_ a: Activations, h: Tensor, dH: Tensor, _ batch: TokenBatch) {
        let B = batch.batch, H = config.hiddenSize
        let dAct = Tensor(zeros: [B, H]), dCls = Tensor(zeros: [B, H])
        outProj.backward(dx: dAct.pointer, dy: a.dLogits.pointer, x: a.act.pointer, rows: B)
        if let m = a.actMask { multiplyInPlace(dAct.pointer, m.pointer, count: B * H) }
        Activation.gelu.backward(dx: dAct.pointer, dy: dAct.pointer, pre: a.pre.pointer, count: B * H)
        dense.backward(dx: dCls.pointer, dy: dAct.pointer, x: a.cls.pointer, rows: B)
        if let m = a.clsMask { multiplyInPlace(dCls.pointer, m.pointer, count: B * H) }
        scatterSummaryGradient(dCls.pointer, into: dH.pointer, sequences: B, length: batch.length, hidden: H, mode: .first)
    }

    /// The loss for the problem type (labels validated); d loss / d logits into `grad` when given.
    func classificationLoss(logits: Tensor, inputs: ElectraInputs, batch B: Int, grad: UnsafeMutablePointer<Float>? = nil) throws -> Float {
        let C = config.numLabels
        let floats: [Float] = inputs.floatLabels.map { Array($0.buffer) } ?? inputs.labels!.values.map(Float.init)
        let shape = inputs.floatLabels?.shape ?? inputs.labels!.shape
        switch problemType(for: inputs) {
        case .regression:
            guard floats.count == B * C else {
                throw ElectraError("labels has shape \(shapeString(shape)); regression with num_labels \(C) needs \(B * C) values")
            }
            return Losses.meanSquaredError(logits.pointer, floats, grad: grad)
        case .singleLabel:
            guard let labels = inputs.labels else {
                throw ElectraError("single_label_classification needs integer labels [batch]")
            }
            guard labels.values.count == B else {
                throw ElectraError("labels has shape \(shapeString(labels.shape)); expected [\(B)] class ids")
            }
            return try Losses.crossEntropy(logits: logits.pointer, rows: B, classes: C, labels: labels.values, grad: grad)
        case .multiLabel:
            guard floats.count == B * C else {
                throw ElectraError("labels has shape \(shapeString(shape)); multi_label_classification needs [\(B), \(C)]")
            }
            return Losses.binaryCrossEntropyWithLogits(logits: logits.pointer, targets: floats, grad: grad)
        }
    }
}
