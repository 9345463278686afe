import ElectraKernels

/// HF `ElectraForSequenceClassification`: token 0 -> dropout -> classifier.dense (H->H) ->
/// gelu -> dropout -> classifier.out_proj (H->num_labels).
public final class ElectraForSequenceClassification: ElectraHeadModel {
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
        let batch = try TokenBatch(inputs, config: config, flattenChoices: false)
        return try backbone.forward(batch, options: options) { h, extras in
            let B = batch.batch, H = config.hiddenSize, C = config.numLabels
            let cls = gatherRows(h, width: H, count: B) { $0 * batch.length }
            let hidden = Tensor(zeros: [B, H])
            dense.forward(hidden.pointer, cls.pointer, rows: B)
            Activation.gelu.forward(hidden.pointer, rows: B, columns: H)
            let logits = Tensor(zeros: [B, C])
            outProj.forward(logits.pointer, hidden.pointer, rows: B)
            var out = ElectraOutput()
            out.logits = logits
            if inputs.labels != nil || inputs.floatLabels != nil {
                out.loss = try classificationLoss(logits: logits, inputs: inputs, batch: B)
            }
            out.attach(extras, options)
            return out
        }
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
