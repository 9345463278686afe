import Electra
import Foundation

/// Sequence classification (GLUE-style) on the shared trainer: one model saved at the top
/// of the output folder, cross-entropy (or MSE for regression), GLUE metrics on validation.
public final class SequenceClassificationTask: TrainingTask {
    public let model: ElectraForSequenceClassification
    public let train: EncodedClassificationSet
    public let validation: EncodedClassificationSet?
    public let padId: Int
    public let extraFiles: [URL]
    public var evalBatchSize: Int
    public var runFingerprint: [String: String]

    public init(model: ElectraForSequenceClassification, train: EncodedClassificationSet, validation: EncodedClassificationSet?,
                padId: Int, extraFiles: [URL] = [], evalBatchSize: Int = 64, fingerprint: [String: String] = [:]) {
        self.model = model
        self.train = train
        self.validation = validation
        self.padId = padId
        self.extraFiles = extraFiles
        self.evalBatchSize = evalBatchSize
        var f = fingerprint
        f["train_examples"] = "\(train.count)"
        f["train_tokens"] = "\(train.tokenCount)"
        f["num_labels"] = "\(model.config.numLabels)"
        runFingerprint = f
    }

    public var models: [TrainedModel] { [TrainedModel(folder: "", model: model, extraFiles: extraFiles)] }
    public var exampleCount: Int { train.count }
    public var plottedMetrics: [String] { train.isRegression ? ["pearson", "spearman"] : ["accuracy", "matthews"] }

    public func trainingStep(_ indices: ArraySlice<Int>, dropout: DropoutContext) throws -> StepResult {
        let inputs = train.batch(indices, padId: padId)
        let out = try model.forwardBackward(inputs, dropout: dropout)
        return StepResult(loss: Double(out.loss!), tokens: inputs.attentionMask!.values.reduce(0, +))
    }

    public func evaluate() throws -> [String: Double]? {
        try validation.map { try ClassificationEvaluation.run(model, $0, batchSize: evalBatchSize, padId: padId).metrics }
    }
}

/// How a classifier is set up from a model folder's config and the training file: the label
/// set (id2label/label2id, numeric order when every label is an integer, else alphabetical)
/// or regression, the dropout override, and the data layout it was trained on.
public struct SequenceClassificationSetup: Sendable {
    public var config: ElectraConfig
    public var labelIds: [String: Int]
    public var isRegression: Bool
    /// Regression chosen from the labels (all numbers, some not whole: STS-B's scores), as
    /// run_glue chooses it from a float label column, not asked for with `numLabels` 1.
    public var inferredRegression = false

    /// `numLabels` 1 selects regression, and so do labels that are all numbers with some not
    /// whole when `numLabels` is nil; otherwise it must match the labels found.
    /// `layout` is recorded as `finetuning_task` (evaluate refuses data of another layout).
    public init(base: ElectraConfig, train: [TextExample], file: String, numLabels: Int?, dropout: Float?, layout: String?) throws {
        var c = base
        inferredRegression = numLabels == nil && !train.isEmpty
            && train.allSatisfy { Double($0.label)?.isFinite == true } && train.contains { Int($0.label) == nil }
        isRegression = numLabels == 1 || inferredRegression
        labelIds = [:]
        if isRegression {
            c.setNumLabels(1)
            c.problemType = .regression
        } else {
            let names = ClassificationTSV.labelNames(train)
            guard names.count >= 2 else {
                throw ElectraError("\(file) has only one distinct label ('\(names[0])'); classification needs at least 2 (--num-labels 1 trains a regression on numeric labels)")
            }
            // A typo among numeric labels would otherwise become a class of its own.
            let numeric = train.filter { Double($0.label) != nil }
            if numeric.count * 2 > train.count, let odd = train.first(where: { Double($0.label) == nil }) {
                throw ElectraError("\(file):\(odd.line): label '\(odd.label)' is not a number, while \(numeric.count) of \(train.count) labels are; fix the line (or make every label a name)")
            }
            if let n = numLabels, n != names.count {
                throw ElectraError("--num-labels \(n) but \(file) has \(names.count) distinct labels (\(names.joined(separator: ", ")))")
            }
            c.id2label = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.offset, $0.element) })
            c.label2id = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })
            c.problemType = .singleLabel
            labelIds = c.label2id
        }
        if let d = dropout {
            guard d >= 0 && d < 1 else { throw ElectraError("--dropout must be in [0, 1), got \(d)") }
            c.hiddenDropoutProb = d; c.attentionProbsDropoutProb = d; c.classifierDropout = d
            c.summaryLastDropout = d
        }
        if let layout { c.extra["finetuning_task"] = .string(layout) }
        config = c
    }
}
