import ElectraKernels

/// HF `SequenceSummary` as ELECTRA configures it: pick a vector per sequence
/// (first | last | mean over all positions | cls_index, which without indices is the last),
/// then summary (Linear, when summary_use_proj), activation; dropouts are identity at eval.
public struct SequenceSummary: Sendable {
    public let summary: Linear?
    let type: String
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

    var outputWidth: Int { summary?.outFeatures ?? -1 }

    /// h: [S, L, H] -> [S, width]
    func forward(_ h: UnsafePointer<Float>, sequences s: Int, length l: Int, hidden H: Int) -> Tensor {
        let picked = pick(h, sequences: s, length: l, hidden: H)
        var out = picked
        if let summary {
            out = Tensor(zeros: [s, summary.outFeatures])
            summary.forward(out.pointer, picked.pointer, rows: s)
        }
        activation.forward(out.pointer, rows: s, columns: out.shape[1])
        return out
    }

    /// The vector per sequence the summary type selects: [S, H].
    func pick(_ h: UnsafePointer<Float>, sequences s: Int, length l: Int, hidden H: Int) -> Tensor {
        let picked: Tensor
        switch type {
        case "first": picked = gatherRows(h, width: H, count: s) { $0 * l }
        case "mean":
            picked = Tensor(zeros: [s, H])
            for i in 0..<s {
                let o = picked.pointer + i * H
                for t in 0..<l { let row = h + (i * l + t) * H; for j in 0..<H { o[j] += row[j] } }
                for j in 0..<H { o[j] /= Float(l) }
            }
        default: picked = gatherRows(h, width: H, count: s) { $0 * l + l - 1 }  // last, cls_index
        }
        return picked
    }
}

/// HF `ElectraForMultipleChoice`: inputs [B, C, L] flattened to [B*C, L], sequence_summary,
/// classifier (H->1), logits reshaped to [B, C]; loss = cross-entropy over choices.
public final class ElectraForMultipleChoice: ElectraHeadModel {
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
        let batch = try TokenBatch(inputs, config: config, flattenChoices: true)
        let B = inputs.inputIds.shape[0], C = inputs.inputIds.shape[1]
        let labels = try inputs.requireIntLabels()
        if let labels, labels.values.count != B {
            throw ElectraError("labels has shape \(shapeString(labels.shape)); expected [\(B)] choice indices")
        }
        return try backbone.forward(batch, options: options) { h, extras in
            let pooled = sequenceSummary.forward(h, sequences: batch.batch, length: batch.length, hidden: config.hiddenSize)
            let logits = Tensor(zeros: [B, C])
            classifier.forward(logits.pointer, pooled.pointer, rows: batch.batch)
            var out = ElectraOutput()
            out.logits = logits
            if let labels {
                out.loss = try Losses.crossEntropy(logits: logits.pointer, rows: B, classes: C, labels: labels.values)
            }
            out.attach(extras, options)
            return out
        }
    }
}
