import Electra
import ElectraTokenizers
import Foundation

/// One vector per text from a model's hidden states, as transformers' feature-extraction
/// pipeline gives them (the per-token states), pooled: the mean over the attention mask (the
/// sentence-transformers convention, the default) or the [CLS] vector, from the last layer or
/// any other (`layer` 0 is the embeddings' output, negative counts from the end), optionally
/// L2-normalised. Texts run in batches padded to their longest; padding never changes a
/// vector (tested).
public struct SentenceEmbedder {
    public enum Pooling: String, Sendable, CaseIterable { case mean, cls }

    public let model: ElectraModel
    public let tokenizer: ElectraTokenizer
    public var pooling: Pooling = .mean
    public var layer: Int = -1
    public var normalize = false
    /// Tokens per text, special tokens included; longer texts are cut (and counted).
    public var maxLength: Int
    public var batchSize = 32
    /// Texts cut to `maxLength` so far.
    public private(set) var truncated = 0

    public init(model: ElectraModel, tokenizer: ElectraTokenizer) {
        self.model = model
        self.tokenizer = tokenizer
        maxLength = min(512, model.config.maxPositionEmbeddings)
    }

    /// The hidden-state index `layer` selects (0...layers), or an error naming the range.
    public func layerIndex() throws -> Int {
        let n = model.config.numHiddenLayers
        let i = layer < 0 ? n + 1 + layer : layer
        guard i >= 0 && i <= n else {
            throw ElectraError("--layer \(layer) is outside this model's layers: 0 (embeddings) to \(n), or -1 to -\(n + 1)")
        }
        return i
    }

    public var dimension: Int { model.config.hiddenSize }

    /// Vectors [texts.count][hidden] for `texts`.
    public mutating func embed(_ texts: [String]) throws -> [[Float]] {
        guard maxLength > 2 && maxLength <= model.config.maxPositionEmbeddings else {
            throw ElectraError("--max-length must be in 3...\(model.config.maxPositionEmbeddings), got \(maxLength)")
        }
        let index = try layerIndex(), last = index == model.config.numHiddenLayers
        var tok = tokenizer
        try tok.setTruncation(nil)
        tok.padding = nil
        var out: [[Float]] = []
        out.reserveCapacity(texts.count)
        for start in stride(from: 0, to: texts.count, by: max(batchSize, 1)) {
            var rows = try texts[start..<min(start + batchSize, texts.count)].map { try tok.encode($0).ids }
            for k in rows.indices where rows[k].count > maxLength {
                rows[k] = Array(rows[k].prefix(maxLength - 1)) + [tok.sepTokenId]
                truncated += 1
            }
            let L = rows.map(\.count).max()!
            var x = ElectraInputs(inputIds: IntTensor(shape: [rows.count, L], values: rows.flatMap { $0 + Array(repeating: tok.padTokenId, count: L - $0.count) }))
            x.attentionMask = IntTensor(shape: [rows.count, L], values: rows.flatMap { Array(repeating: 1, count: $0.count) + Array(repeating: 0, count: L - $0.count) })
            let result = try model(x, options: ForwardOptions(outputHiddenStates: !last))
            let h = last ? result.lastHiddenState! : result.hiddenStates![index]
            let H = dimension
            for (b, row) in rows.enumerated() {
                let base = h.pointer + b * L * H
                var v = [Float](repeating: 0, count: H)
                switch pooling {
                case .cls:
                    for j in 0..<H { v[j] = base[j] }
                case .mean:
                    for t in 0..<row.count { for j in 0..<H { v[j] += base[t * H + j] } }
                    let inv = 1 / Float(row.count)
                    for j in 0..<H { v[j] *= inv }
                }
                if normalize {
                    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    if norm > 0 { for j in 0..<H { v[j] /= norm } }
                }
                out.append(v)
            }
        }
        return out
    }
}
