import Electra
import ElectraTokenizers
import Foundation

/// One vector per text (sentence-transformers style): a hidden layer's states pooled by the
/// mean over the text's tokens or by [CLS], optionally L2-normalised. Batches are padded, and
/// padding never changes a vector.
public final class SentenceEmbeddingPipeline: Sendable {
    public enum Pooling: String, Sendable, CaseIterable { case mean, cls }

    public struct Settings: Sendable {
        public var pooling = Pooling.mean
        /// Hidden state to pool: 0 = the embeddings' output, N = layer N, negative from the end.
        public var layer = -1
        public var normalize = false
        /// Tokens per text, special tokens included (default: min(512, the model's positions));
        /// longer texts are cut.
        public var maxLength: Int?
        public init(pooling: Pooling = .mean, layer: Int = -1, normalize: Bool = false, maxLength: Int? = nil) {
            self.pooling = pooling
            self.layer = layer
            self.normalize = normalize
            self.maxLength = maxLength
        }
    }

    public struct Embedding: Sendable {
        public var vector: [Float]
        /// True when the text was longer than maxLength and was cut.
        public var truncated: Bool
    }

    public let model: ElectraModel
    public let tokenizer: ElectraTokenizer
    public let options: PipelineOptions

    public convenience init(folder: URL, options: PipelineOptions = .init()) throws {
        let o = try options.validated()
        let (m, t) = try PipelineLoading.load(ElectraModel.self, from: folder, pipeline: "sentence-embedding", options: o)
        try self.init(model: m, tokenizer: t, options: o)
    }

    public init(model: ElectraModel, tokenizer: ElectraTokenizer, options: PipelineOptions = .init()) throws {
        self.model = model
        self.tokenizer = try PipelineLoading.prepared(tokenizer)
        self.options = try options.applied(to: model)
    }

    public var dimension: Int { model.config.hiddenSize }

    /// The hidden-state index `layer` selects, or an error naming the range.
    public func layerIndex(_ layer: Int) throws -> Int {
        let n = model.config.numHiddenLayers
        let i = layer < 0 ? n + 1 + layer : layer
        guard i >= 0 && i <= n else { throw ElectraError("layer \(layer) is outside this model's layers: 0 (embeddings) to \(n), or -1 to -\(n + 1)") }
        return i
    }

    public func callAsFunction(_ texts: [String], settings s: Settings = .init()) throws -> [Embedding] {
        let positions = model.config.maxPositionEmbeddings
        let maxLength = s.maxLength ?? min(512, positions)
        guard maxLength > 2 && maxLength <= positions else { throw ElectraError("maxLength must be in 3...\(positions), got \(maxLength)") }
        let index = try layerIndex(s.layer), last = index == model.config.numHiddenLayers, H = dimension
        var cut = [Bool](repeating: false, count: texts.count)
        let encodings = try texts.enumerated().map { i, text -> Encoding in
            var e = try tokenizer.encode(text)
            if e.count > maxLength {
                // Keep the first maxLength - 1 tokens and the final [SEP].
                let keep = Array(0..<(maxLength - 1)) + [e.count - 1]
                e = Encoding(ids: keep.map { e.ids[$0] }, typeIds: keep.map { e.typeIds[$0] }, attentionMask: keep.map { _ in 1 })
                cut[i] = true
            }
            return e
        }
        var results = [Embedding](repeating: Embedding(vector: [], truncated: false), count: texts.count)
        let forward = { (x: ElectraInputs) in try self.model(x, options: ForwardOptions(outputHiddenStates: !last)) }
        try BatchRunner(options: options, padId: tokenizer.padTokenId).run(encodings, forward: forward) { i, row, L, out in
            let h = last ? out.lastHiddenState! : out.hiddenStates![index]
            let states = UnsafeBufferPointer(start: h.pointer + row * L * H, count: encodings[i].count * H)
            results[i] = Embedding(vector: Self.pool(states, width: H, pooling: s.pooling, normalize: s.normalize), truncated: cut[i])
        }
        return results
    }

    /// One text's vector from its token states ([tokens * width], no padding): the mean or the
    /// first ([CLS]) row, optionally scaled to unit L2 norm.
    public static func pool(_ states: UnsafeBufferPointer<Float>, width H: Int, pooling: Pooling, normalize: Bool) -> [Float] {
        let n = states.count / H
        var v = [Float](repeating: 0, count: H)
        switch pooling {
        case .cls:
            for j in 0..<H { v[j] = states[j] }
        case .mean:
            for t in 0..<n { for j in 0..<H { v[j] += states[t * H + j] } }
            let inv = 1 / Float(n)
            for j in 0..<H { v[j] *= inv }
        }
        if normalize {
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { for j in 0..<H { v[j] /= norm } }
        }
        return v
    }

    public func embed(_ texts: [String], settings: Settings = .init()) async throws -> [Embedding] {
        try await runBlocking { try self(texts, settings: settings) }
    }
}
