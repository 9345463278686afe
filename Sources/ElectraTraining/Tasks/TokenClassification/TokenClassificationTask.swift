import Electra
import Foundation

/// Token classification (NER, chunking) on the shared trainer: one model saved at the top of
/// the output folder, cross-entropy over the labelled subwords, and on validation the
/// entity-level F1 of `EntityMetrics` (conlleval rules) with precision, recall and token
/// accuracy.
public final class TokenClassificationTask: TrainingTask {
    public let model: ElectraForTokenClassification
    public let train: TokenClassificationSet
    public let validation: TokenClassificationSet?
    public let padId: Int
    public let extraFiles: [URL]
    public var evalBatchSize = 64
    public var runFingerprint: [String: String]

    public init(model: ElectraForTokenClassification, train: TokenClassificationSet, validation: TokenClassificationSet?,
                padId: Int, extraFiles: [URL] = [], fingerprint: [String: String] = [:]) {
        self.model = model
        self.train = train
        self.validation = validation
        self.padId = padId
        self.extraFiles = extraFiles
        var f = fingerprint
        f["train_windows"] = "\(train.count)"
        f["train_tokens"] = "\(train.tokenCount)"
        f["num_labels"] = "\(model.config.numLabels)"
        runFingerprint = f
    }

    public var models: [TrainedModel] { [TrainedModel(folder: "", model: model, extraFiles: extraFiles)] }
    public var exampleCount: Int { train.count }
    public var plottedMetrics: [String] { ["f1", "precision", "recall", "accuracy"] }

    public func trainingStep(_ indices: ArraySlice<Int>, dropout: DropoutContext) throws -> StepResult {
        let inputs = train.batch(indices, padId: padId)
        let out = try model.forwardBackward(inputs, dropout: dropout)
        return StepResult(loss: Double(out.loss!), tokens: inputs.attentionMask!.values.reduce(0, +))
    }

    public func evaluate() throws -> [String: Double]? {
        guard let validation else { return nil }
        let predicted = try validation.predict(model, batchSize: evalBatchSize, padId: padId)
        let r = try EntityMetrics.evaluate(gold: validation.sentences.map(\.tags), predicted: predicted)
        return ["f1": r.overall.f1, "precision": r.overall.precision, "recall": r.overall.recall, "accuracy": r.accuracy]
    }
}
