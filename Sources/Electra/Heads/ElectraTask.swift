import Foundation

/// The CLI's task names and the HF classes they select.
public enum ElectraTask: String, CaseIterable, Sendable {
    case base
    case pretraining
    case maskedLM = "masked-lm"
    case sequenceClassification = "sequence-classification"
    case tokenClassification = "token-classification"
    case questionAnswering = "question-answering"
    case multipleChoice = "multiple-choice"

    public var modelType: any ElectraHeadModel.Type {
        switch self {
        case .base: ElectraModel.self
        case .pretraining: ElectraForPreTraining.self
        case .maskedLM: ElectraForMaskedLM.self
        case .sequenceClassification: ElectraForSequenceClassification.self
        case .tokenClassification: ElectraForTokenClassification.self
        case .questionAnswering: ElectraForQuestionAnswering.self
        case .multipleChoice: ElectraForMultipleChoice.self
        }
    }

    public init?(architecture: String) {
        guard let t = ElectraTask.allCases.first(where: { $0.modelType.architecture == architecture }) else { return nil }
        self = t
    }

    /// The task a config names in `architectures[0]`, or `base` when it names none.
    /// `hint` ends the error for an unknown class (how the caller can choose a task instead).
    public static func fromConfig(_ c: ElectraConfig, hint: String? = nil) throws -> ElectraTask {
        guard let arch = c.architectures?.first else { return .base }
        guard let t = ElectraTask(architecture: arch) else {
            let known = ElectraTask.allCases.map { $0.modelType.architecture }.joined(separator: ", ")
            throw ElectraError("config.json architectures[0] is \(arch), which is not an ELECTRA class this build supports (\(known))\(hint.map { "; \($0)" } ?? "")")
        }
        return t
    }

    /// Loads the class for this task from a model folder.
    public func load(from directory: URL, seed: UInt64 = 0) throws -> (model: any ElectraHeadModel, report: LoadReport) {
        let r = try modelType.load(from: directory, seed: seed)
        return (r.model, r.report)
    }

    public func load(config: ElectraConfig, weights: CheckpointWeights) throws -> (model: any ElectraHeadModel, report: LoadReport) {
        let r = try modelType.load(config: config, weights: weights, seed: 0)
        return (r.model, r.report)
    }

    public func randomModel(config: ElectraConfig, seed: UInt64) throws -> any ElectraHeadModel {
        try modelType.init(config: config, seed: seed)
    }
}
