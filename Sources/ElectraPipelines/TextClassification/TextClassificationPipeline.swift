import Electra
import ElectraTokenizers
import Foundation

/// HF `pipeline("text-classification")`: labels with scores for texts or text pairs, from an
/// `ElectraForSequenceClassification` folder. Safe to share between tasks.
public final class TextClassificationPipeline: Sendable {
    /// HF's `function_to_apply`.
    public enum Function: String, Sendable, CaseIterable { case softmax, sigmoid, none }

    public struct Input: Sendable {
        public var text: String
        public var pair: String?
        public init(_ text: String, pair: String? = nil) { self.text = text; self.pair = pair }
    }

    public struct LabelScore: Sendable, Equatable {
        public var label: String
        public var score: Float
        public var json: PipelineJSON { .object([.init("label", .string(label)), .init("score", .score(score))]) }
    }

    public let model: ElectraForSequenceClassification
    public let tokenizer: ElectraTokenizer
    public let options: PipelineOptions

    public convenience init(folder: URL, options: PipelineOptions = .init()) throws {
        let o = try options.validated()
        let (m, t) = try PipelineLoading.load(ElectraForSequenceClassification.self, from: folder, pipeline: "text-classification", options: o)
        try self.init(model: m, tokenizer: t, options: o)
    }

    public init(model: ElectraForSequenceClassification, tokenizer: ElectraTokenizer, options: PipelineOptions = .init()) throws {
        self.model = model
        self.tokenizer = try PipelineLoading.prepared(tokenizer)
        self.options = try options.applied(to: model)
    }

    /// What HF applies when `function_to_apply` is not given: none for regression, sigmoid for
    /// multi-label or a single label, else softmax.
    public var defaultFunction: Function {
        let c = model.config
        if c.problemType == .regression { return .none }
        if c.problemType == .multiLabel || c.numLabels == 1 { return .sigmoid }
        return .softmax
    }

    /// Scores of every label for each input, best first, cut to `topK` (nil: all labels).
    /// `truncation`: cut inputs longer than `maxLength` (default: the model's positions), as
    /// HF's tokenizer kwargs truncation/max_length; without it such an input is an error.
    public func callAsFunction(_ inputs: [Input], topK: Int? = 1, function: Function? = nil,
                               truncation: Bool = false, maxLength: Int? = nil) throws -> [[LabelScore]] {
        if let topK, topK < 1 { throw ElectraError("topK must be at least 1, got \(topK)") }
        let f = function ?? defaultFunction
        var tok = tokenizer
        let positions = model.config.maxPositionEmbeddings
        if let maxLength, !(3...positions).contains(maxLength) {
            throw ElectraError("maxLength must be in 3...\(positions) (the model's positions), got \(maxLength)")
        }
        let maxLength = maxLength ?? positions
        if truncation { try tok.setTruncation(TruncationOptions(maxLength: maxLength)) }
        let encodings = try inputs.enumerated().map { i, x -> Encoding in
            let e = try tok.encode(x.text, pair: x.pair)
            guard e.count <= maxLength else {
                throw ElectraError("input \(i + 1) has \(e.count) tokens, more than \(maxLength) (pass truncation to cut it)")
            }
            return e
        }
        let C = model.config.numLabels
        var results = [[LabelScore]](repeating: [], count: inputs.count)
        try BatchRunner(options: options, padId: tok.padTokenId).run(encodings, forward: { try model($0) }) { index, row, _, out in
            let logits = Array(UnsafeBufferPointer(start: out.logits!.pointer + row * C, count: C))
            try PipelineChecks.finite(logits, model: "the classifier")
            let scores: [Float] = switch f {
            case .softmax: Scores.softmax(logits)
            case .sigmoid: logits.map(Scores.sigmoid)
            case .none: logits
            }
            let order = Scores.descending(scores)
            results[index] = order.prefix(topK ?? C).map { LabelScore(label: model.config.id2label[$0] ?? "LABEL_\($0)", score: scores[$0]) }
        }
        return results
    }

    public func callAsFunction(_ text: String, pair: String? = nil, topK: Int? = 1, function: Function? = nil,
                               truncation: Bool = false) throws -> [LabelScore] {
        try self([Input(text, pair: pair)], topK: topK, function: function, truncation: truncation)[0]
    }

    public func classify(_ inputs: [Input], topK: Int? = 1, function: Function? = nil, truncation: Bool = false) async throws -> [[LabelScore]] {
        try await runBlocking { try self(inputs, topK: topK, function: function, truncation: truncation) }
    }

    /// The value HF's pipeline returns: without `top_k` (`topKGiven` false) one {label, score}
    /// per input, in a list even for one text (but not for one pair, given as a dict); with it,
    /// a list of them per input (just that list for a single input).
    public static func json(_ results: [[LabelScore]], singleInput: Bool, topKGiven: Bool, pairInput: Bool = false) -> PipelineJSON {
        if !topKGiven {
            let best = results.map { $0.first?.json ?? .null }
            return singleInput && pairInput ? best[0] : .array(best)
        }
        let lists = results.map { PipelineJSON.array($0.map(\.json)) }
        return singleInput ? lists[0] : .array(lists)
    }
}
