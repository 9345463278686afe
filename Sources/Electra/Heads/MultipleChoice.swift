import ElectraKernels

/// HF `SequenceSummary` as ELECTRA configures it: pick a vector per sequence (summary_type),
/// then summary (Linear, when summary_use_proj), activation; first/last dropouts around them.
public struct SequenceSummary: Sendable {
    public let summary: Linear?
    let type: SummaryType
    let activation: Activation

    init(_ vb: ParameterBuilder, _ c: ElectraConfig) throws {
        type = c.summaryType
        if c.summaryUseProj {
            let out = c.summaryProjToLabels && c.numLabels > 0 ? c.numLabels : c.hiddenSize
            summary = try vb.linear("summary", in: c.hiddenSize, out: out)
        } else {
            summary = nil
        }
        activation = c.summaryActivation.flatMap { Activation(hfName: $0) } ?? .linear
    }

    /// The vector per sequence the summary type selects: h [S, L, H] -> [S, H].
    func pick(_ h: UnsafePointer<Float>, sequences s: Int, length l: Int, hidden H: Int) -> Tensor {
        let picked = Tensor(zeros: [s, H])
        summarizeSequences(h, into: picked.pointer, sequences: s, length: l, width: H, mode: type.kernelMode)
        return picked
    }
}

/// HF `ElectraForMultipleChoice`: inputs [B, C, L] flattened to [B*C, L], sequence_summary,
/// classifier (H->1), logits reshaped to [B, C]; loss = cross-entropy over choices.
public final class ElectraForMultipleChoice: ElectraHeadModel, ElectraTrainable, HeadPass {
    public static let architecture = "ElectraForMultipleChoice"
    public let config: ElectraConfig
    public let backbone: ElectraBackbone
    public let parameters: ParameterTable
    public let sequenceSummary: SequenceSummary
    public let classifier: Linear

    public init(config c: ElectraConfig, builder vb: ParameterBuilder) throws {
        config = c
        backbone = try ElectraBackbone(vb.pp("electra"), config: c)
        sequenceSummary = try SequenceSummary(vb.pp("sequence_summary"), c)
        let width = c.summaryUseProj && c.summaryProjToLabels ? c.numLabels : c.hiddenSize
        classifier = try vb.linear("classifier", in: width, out: 1)
        parameters = vb.table
    }

    public func callAsFunction(_ inputs: ElectraInputs, options: ForwardOptions) throws -> ElectraOutput {
        try inferencePass(inputs, options: options)
    }

    public func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput {
        try trainingPass(inputs, dropout: dropout)
    }

    /// picked [S, H], pre/act [S, width], the two dropout masks, d loss / d logits [B, C].
    struct Activations { let picked, pre, act: Tensor; let firstMask, lastMask: Tensor?; let dLogits: Tensor }
    static let flattensChoices = true
    static let trainingLabels = "labels [batch] (choice indices)"
    func hasLabels(_ inputs: ElectraInputs) -> Bool { inputs.labels != nil }

    /// h [S, L, H] (S = B*C) -> summary vector -> dropout -> summary proj -> activation ->
    /// dropout -> classifier -> logits [B, C].
    func headForward(_ h: Tensor, _ batch: TokenBatch, _ inputs: ElectraInputs, training: HeadTraining?)
        throws -> (ElectraOutput, Activations?) {
        let B = inputs.inputIds.shape[0], C = inputs.inputIds.shape[1]
        let S = batch.batch, H = config.hiddenSize
        let labels = try inputs.requireIntLabels()
        if let labels, labels.values.count != B {
            throw ElectraError("labels has shape \(shapeString(labels.shape)); expected [\(B)] choice indices")
        }
        let summary = sequenceSummary
        let (picked, firstMask) = headDropout(summary.pick(h.pointer, sequences: S, length: batch.length, hidden: H),
                                              p: config.summaryFirstDropout ?? 0, training)
        let width = summary.summary?.outFeatures ?? H
        let pre = summary.summary == nil ? picked : Tensor(zeros: [S, width])
        summary.summary?.forward(pre.pointer, picked.pointer, rows: S)
        let (act, lastMask) = headDropout(activated(summary.activation, pre, keep: training != nil),
                                          p: config.summaryLastDropout, training)
        let logits = Tensor(zeros: [B, C])
        classifier.forward(logits.pointer, act.pointer, rows: S)
        let dLogits = lossGradient([B, C], training)
        var out = ElectraOutput(loss: nil, logits: logits)
        if let labels {
            out.loss = try Losses.crossEntropy(logits: logits.pointer, rows: B, classes: C, labels: labels.values, grad: dLogits?.pointer)
        }
        return (out, dLogits.map {
            Activations(picked: picked, pre: pre, act: act, firstMask: firstMask, lastMask: lastMask, dLogits: $0)
        })
    }

    func headBackward(_ a: Activations, h: Tensor, dH: Tensor, _ batch: TokenBatch) {
        let S = batch.batch, H = config.hiddenSize
        let summary = sequenceSummary
        let width = a.act.shape[1]
        let dAct = Tensor(zeros: [S, width]), dPicked = Tensor(zeros: [S, H])
        classifier.backward(dx: dAct.pointer, dy: a.dLogits.pointer, x: a.act.pointer, rows: S)
        if let m = a.lastMask { multiplyInPlace(dAct.pointer, m.pointer, count: S * width) }
        summary.activation.backward(dx: dAct.pointer, dy: dAct.pointer, pre: a.pre.pointer, count: S * width)
        if let proj = summary.summary {
            proj.backward(dx: dPicked.pointer, dy: dAct.pointer, x: a.picked.pointer, rows: S)
        } else {
            dPicked.pointer.update(from: dAct.pointer, count: S * H)
        }
        if let m = a.firstMask { multiplyInPlace(dPicked.pointer, m.pointer, count: S * H) }
        scatterSummaryGradient(dPicked.pointer, into: dH.pointer, sequences: S, length: batch.length, hidden: H,
                               mode: summary.type.kernelMode)
    }
}
