import Electra
import ElectraTokenizers
import Foundation

/// ELECTRA's own task: for each token of a text, the discriminator's probability that it was
/// replaced, and the same per word (the highest of its tokens). Texts longer than the model's
/// positions are read in consecutive windows. Needs an `ElectraForPreTraining` folder.
public final class ReplacedTokenDetectionPipeline: Sendable {
    public struct Token: Sendable, Equatable {
        public var token: String
        /// The text of the word the token belongs to.
        public var word: String
        /// Character offsets (Unicode scalars) into the text.
        public var start: Int
        public var end: Int
        public var probability: Float
    }

    public struct Word: Sendable, Equatable {
        public var word: String
        public var start: Int
        public var end: Int
        /// The highest probability among the word's tokens.
        public var probability: Float
    }

    public struct Result: Sendable, Equatable {
        public var text: String
        public var tokens: [Token]
        public var words: [Word]

        /// Words above the threshold, in order.
        public func replacedWords(threshold: Float = 0.5) -> [Word] { words.filter { $0.probability > threshold } }

        public func json(threshold: Float = 0.5) -> PipelineJSON {
            .object([
                .init("text", .string(text)),
                .init("tokens", .array(tokens.map {
                    .object([.init("token", .string($0.token)), .init("word", .string($0.word)), .init("start", .int($0.start)), .init("end", .int($0.end)), .init("probability", .score($0.probability))])
                })),
                .init("words", .array(words.map {
                    .object([.init("word", .string($0.word)), .init("start", .int($0.start)), .init("end", .int($0.end)),
                             .init("probability", .score($0.probability)), .init("replaced", .bool($0.probability > threshold))])
                })),
            ])
        }
    }

    public let model: ElectraForPreTraining
    public let tokenizer: ElectraTokenizer
    public let options: PipelineOptions

    public convenience init(folder: URL, options: PipelineOptions = .init()) throws {
        let o = try options.validated()
        let (m, t) = try PipelineLoading.load(ElectraForPreTraining.self, from: folder, pipeline: "replaced-token-detection", options: o)
        try self.init(model: m, tokenizer: t, options: o)
    }

    public init(model: ElectraForPreTraining, tokenizer: ElectraTokenizer, options: PipelineOptions = .init()) throws {
        self.model = model
        self.tokenizer = try PipelineLoading.prepared(tokenizer)
        self.options = try options.applied(to: model)
    }

    public func callAsFunction(_ texts: [String]) throws -> [Result] {
        let window = model.config.maxPositionEmbeddings - 2
        guard window >= 1 else {
            throw ElectraError("the model has \(model.config.maxPositionEmbeddings) positions: no room for a text between [CLS] and [SEP]")
        }
        // Every text's tokens (no special tokens), then windows of them wrapped in [CLS] ... [SEP].
        let encoded = try texts.enumerated().map { i, text -> Encoding in
            let e = try tokenizer.encode(text, addSpecialTokens: false)
            guard !e.ids.isEmpty else { throw ElectraError("text \(i + 1) has no tokens") }
            return e
        }
        var windows: [Encoding] = [], origin: [(text: Int, first: Int)] = []
        for (t, e) in encoded.enumerated() {
            for first in stride(from: 0, to: e.count, by: window) {
                let piece = Array(e.ids[first..<min(first + window, e.count)])
                let ids = [tokenizer.clsTokenId] + piece + [tokenizer.sepTokenId]
                windows.append(Encoding(ids: ids, typeIds: ids.map { _ in 0 }, attentionMask: ids.map { _ in 1 }))
                origin.append((t, first))
            }
        }
        var probabilities = encoded.map { [Float](repeating: 0, count: $0.count) }
        try BatchRunner(options: options, padId: tokenizer.padTokenId).run(windows, forward: { try model($0) }) { k, row, L, out in
            let z = out.logits!.pointer + row * L
            let n = windows[k].count - 2
            try PipelineChecks.finite(UnsafeBufferPointer(start: z + 1, count: n), model: "the discriminator")
            for j in 0..<n { probabilities[origin[k].text][origin[k].first + j] = Scores.sigmoid(z[1 + j]) }
        }
        return texts.indices.map { t in Self.result(texts[t], encoded[t], probabilities[t], tokenizer: tokenizer) }
    }

    public func callAsFunction(_ text: String) throws -> Result { try self([text])[0] }

    public func detect(_ texts: [String]) async throws -> [Result] {
        try await runBlocking { try self(texts) }
    }

    /// The result for `text` from its encoding (no special tokens) and each token's probability.
    public static func result(_ text: String, _ e: Encoding, _ p: [Float], tokenizer: ElectraTokenizer) -> Result {
        let scalars = Array(text.unicodeScalars)
        func slice(_ a: Int, _ b: Int) -> String { b <= scalars.count && a <= b ? String(String.UnicodeScalarView(scalars[a..<b])) : "" }
        var words: [Word] = [], wordOf: [Int] = []
        var lastWord: Int?
        for i in e.ids.indices {
            defer { wordOf.append(words.count - 1) }
            if let w = e.wordIds[i], w == lastWord, !words.isEmpty {
                words[words.count - 1].end = e.offsets[i].upperBound
                words[words.count - 1].probability = max(words[words.count - 1].probability, p[i])
            } else {
                words.append(Word(word: "", start: e.offsets[i].lowerBound, end: e.offsets[i].upperBound, probability: p[i]))
            }
            lastWord = e.wordIds[i]
        }
        for k in words.indices { words[k].word = slice(words[k].start, words[k].end) }
        let tokens = e.ids.indices.map { i in
            Token(token: tokenizer.idToToken(e.ids[i]) ?? "", word: words[wordOf[i]].word, start: e.offsets[i].lowerBound,
                  end: e.offsets[i].upperBound, probability: p[i])
        }
        return Result(text: text, tokens: tokens, words: words)
    }
}
