import Electra
import ElectraTokenizers
import Foundation

/// A cross-encoder reranker: one query, many texts, each pair scored by an
/// `ElectraForSequenceClassification` with one label (sigmoid of its logit, as
/// sentence-transformers' CrossEncoder) or two (softmax probability of label 1).
public final class RerankingPipeline: Sendable {
    public struct Ranked: Sendable, Equatable {
        /// The text's position in the input.
        public var index: Int
        public var score: Float
        public var text: String?
        public var json: PipelineJSON {
            var f: [PipelineJSON.Field] = [.init("index", .int(index)), .init("score", .score(score))]
            if let text { f.append(.init("text", .string(text))) }
            return .object(f)
        }
    }

    public let model: ElectraForSequenceClassification
    public let tokenizer: ElectraTokenizer
    public let options: PipelineOptions

    public convenience init(folder: URL, options: PipelineOptions = .init()) throws {
        let o = try options.validated()
        let (m, t) = try PipelineLoading.load(ElectraForSequenceClassification.self, from: folder, pipeline: "rerank", options: o)
        try self.init(model: m, tokenizer: t, options: o)
    }

    public init(model: ElectraForSequenceClassification, tokenizer: ElectraTokenizer, options: PipelineOptions = .init()) throws {
        guard (1...2).contains(model.config.numLabels) else {
            throw ElectraError("a reranker has 1 label (a relevance logit) or 2 (irrelevant, relevant); this model has \(model.config.numLabels)")
        }
        self.model = model
        self.tokenizer = try PipelineLoading.prepared(tokenizer)
        self.options = try options.applied(to: model)
    }

    /// The texts by relevance to `query`, best first (at most `topK`). `rawScores`: the logit
    /// instead of a probability. Pairs longer than the model's positions are cut (longest first).
    public func callAsFunction(query: String, texts: [String], topK: Int? = nil, rawScores: Bool = false,
                               returnText: Bool = false) throws -> [Ranked] {
        guard !texts.isEmpty else { throw ElectraError("texts is empty: give at least one text to rank") }
        if let topK, topK < 1 { throw ElectraError("topK must be at least 1, got \(topK)") }
        var tok = tokenizer
        try tok.setTruncation(TruncationOptions(maxLength: model.config.maxPositionEmbeddings))
        let encodings = try texts.map { try tok.encode(query, pair: $0) }
        let C = model.config.numLabels
        var scores = [Float](repeating: 0, count: texts.count)
        try BatchRunner(options: options, padId: tok.padTokenId).run(encodings, forward: { try model($0) }) { i, row, _, out in
            let z = Array(UnsafeBufferPointer(start: out.logits!.pointer + row * C, count: C))
            try PipelineChecks.finite(z, model: "the reranker")
            if C == 1 {
                scores[i] = rawScores ? z[0] : Scores.sigmoid(z[0])
            } else {
                scores[i] = rawScores ? z[1] - z[0] : Scores.softmax(z)[1]
            }
        }
        return Scores.descending(scores).prefix(topK ?? texts.count).map { Ranked(index: $0, score: scores[$0], text: returnText ? texts[$0] : nil) }
    }

    public func rerank(query: String, texts: [String], topK: Int? = nil, rawScores: Bool = false, returnText: Bool = false) async throws -> [Ranked] {
        try await runBlocking { try self(query: query, texts: texts, topK: topK, rawScores: rawScores, returnText: returnText) }
    }
}
