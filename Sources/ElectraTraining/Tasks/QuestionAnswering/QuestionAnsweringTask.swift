import Electra
import Foundation

/// Extractive QA on the shared trainer: windows with start/end positions ([CLS] where the
/// window lacks the answer), HF's loss; validation runs the n-best span search and reports the
/// official SQuAD exact match and F1.
public final class QuestionAnsweringTask: TrainingTask {
    public let model: ElectraForQuestionAnswering
    public let train: SquadFeatures
    public let validation: SquadFeatures?
    public let padId: Int
    public let extraFiles: [URL]
    public var version2: Bool
    public var maxAnswerLength = 30
    public var nullThreshold = 0.0
    public var evalBatchSize = 32
    public var runFingerprint: [String: String]

    public init(model: ElectraForQuestionAnswering, train: SquadFeatures, validation: SquadFeatures?, padId: Int, version2: Bool,
                extraFiles: [URL] = [], fingerprint: [String: String] = [:]) {
        self.model = model
        self.train = train
        self.validation = validation
        self.padId = padId
        self.version2 = version2
        self.extraFiles = extraFiles
        var f = fingerprint
        f["train_windows"] = "\(train.count)"
        f["version_2_with_negative"] = "\(version2)"
        runFingerprint = f
    }

    public var models: [TrainedModel] { [TrainedModel(folder: "", model: model, extraFiles: extraFiles)] }
    public var exampleCount: Int { train.count }
    public var plottedMetrics: [String] { version2 ? ["exact", "f1"] : ["exact_match", "f1"] }

    public func trainingStep(_ indices: ArraySlice<Int>, dropout: DropoutContext) throws -> StepResult {
        let x = train.batch(indices, padId: padId)
        let out = try model.forwardBackward(x, dropout: dropout)
        return StepResult(loss: Double(out.loss!), tokens: x.attentionMask!.values.reduce(0, +))
    }

    public func evaluate() throws -> [String: Double]? {
        guard let validation else { return nil }
        let p = try validation.predictions(model, batchSize: evalBatchSize, padId: padId, maxAnswerLength: maxAnswerLength,
                                           version2: version2, nullThreshold: nullThreshold)
        return SquadMetrics.evaluate(validation.questions.map { SquadMetrics.Question(id: $0.id, answers: $0.answers.map(\.text)) },
                                     predictions: p.answers, version2: version2)
    }
}
