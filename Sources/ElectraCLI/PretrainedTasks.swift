import Electra
import ElectraTokenizers
import Foundation

/// One text through a discriminator: each token's probability of having been replaced,
/// aligned to the words of the text. Long texts run in windows of the model's positions.
struct ReplacedTokenDetector {
    let model: ElectraForPreTraining
    let tokenizer: ElectraTokenizer

    struct Token { let token: String; let word: String; let probability: Double }
    struct Result {
        let text: String
        let tokens: [Token]

        /// Words with any token above the threshold, in order.
        func replacedWords(_ threshold: Double) -> [String] {
            var words: [String] = []
            var last: String?
            for t in tokens where t.probability > threshold && t.word != last {
                words.append(t.word)
                last = t.word
            }
            return words
        }

        func table(threshold: Double) -> String {
            var lines = ["text: \(text)", "token                p(replaced)"]
            for t in tokens {
                let mark = t.probability > threshold ? "  <- replaced" : ""
                lines.append(t.token.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: " %.3f", t.probability) + mark)
            }
            let words = replacedWords(threshold)
            lines.append("replaced (p > \(threshold)): \(words.isEmpty ? "none" : words.joined(separator: ", "))")
            return lines.joined(separator: "\n")
        }

        func json(threshold: Double) -> String {
            let obj: JSONValue = .object([
                "text": .string(text),
                "tokens": .array(tokens.map { .object(["token": .string($0.token), "word": .string($0.word), "probability": .number($0.probability)]) }),
                "replaced_words": .array(replacedWords(threshold).map(JSONValue.string)),
            ])
            return String(decoding: (try? obj.serialized(pretty: false)) ?? Data(), as: UTF8.self)
        }
    }

    func run(_ text: String) throws -> Result {
        var tok = tokenizer
        try tok.setTruncation(nil)
        tok.padding = nil
        let enc = try tok.encode(text, addSpecialTokens: false)
        guard !enc.ids.isEmpty else { throw ElectraError("the text has no tokens") }
        let scalars = Array(text.unicodeScalars)
        let window = model.config.maxPositionEmbeddings - 2
        var probabilities: [Double] = []
        var start = 0
        while start < enc.ids.count {
            let piece = Array(enc.ids[start..<min(start + window, enc.ids.count)])
            let out = try model(ElectraInputs(ids: [[tok.clsTokenId] + piece + [tok.sepTokenId]]))
            let z = out.logits!.scalars
            probabilities += (1...piece.count).map { 1 / (1 + exp(-Double(z[$0]))) }
            start += window
        }
        let tokens = enc.ids.indices.map { i -> Token in
            // The word: the text between the first and last character of the tokens with this word id.
            let same = enc.ids.indices.filter { enc.wordIds[$0] != nil && enc.wordIds[$0] == enc.wordIds[i] }
            let range = same.isEmpty ? enc.offsets[i] : enc.offsets[same.first!].lowerBound..<enc.offsets[same.last!].upperBound
            let word = range.upperBound <= scalars.count ? String(String.UnicodeScalarView(scalars[range])) : enc.tokens[i]
            return Token(token: enc.tokens[i], word: word, probability: probabilities[i])
        }
        return Result(text: text, tokens: tokens)
    }
}

/// The generator's candidates for each [MASK] of a text.
struct MaskFiller {
    let model: ElectraForMaskedLM
    let tokenizer: ElectraTokenizer

    struct Mask { let position: Int; let candidates: [(token: String, probability: Double)] }

    func run(_ text: String, topK: Int) throws -> [Mask] {
        var tok = tokenizer
        try tok.setTruncation(nil)
        tok.padding = nil
        let enc = try tok.encode(text)
        let positions = enc.ids.indices.filter { enc.ids[$0] == tok.maskTokenId }
        guard !positions.isEmpty else {
            throw ElectraError("the text has no \(tok.idToToken(tok.maskTokenId) ?? "[MASK]") token; write it where a word should be predicted")
        }
        guard enc.ids.count <= model.config.maxPositionEmbeddings else {
            throw ElectraError("the text has \(enc.ids.count) tokens; this model reads at most \(model.config.maxPositionEmbeddings)")
        }
        let out = try model(ElectraInputs(ids: [enc.ids]))
        let V = model.config.vocabSize, logits = out.logits!.scalars
        return positions.map { p in
            let row = logits[(p * V)..<((p + 1) * V)].map(Double.init)
            let m = row.max()!
            let total = row.reduce(0) { $0 + exp($1 - m) }
            let best = row.indices.sorted { row[$0] > row[$1] }.prefix(topK)
            return Mask(position: p, candidates: best.map { (tok.idToToken($0) ?? "[\($0)]", exp(row[$0] - m) / total) })
        }
    }

    static func table(_ text: String, _ masks: [Mask]) -> String {
        var lines = ["text: \(text)"]
        for (k, m) in masks.enumerated() {
            let c = m.candidates.map { String(format: "%@ %.3f", $0.token, $0.probability) }.joined(separator: ", ")
            lines.append("[MASK] \(k + 1): \(c)")
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ text: String, _ masks: [Mask]) -> String {
        let obj: JSONValue = .object([
            "text": .string(text),
            "masks": .array(masks.map { m in
                .array(m.candidates.map { .object(["token": .string($0.token), "probability": .number($0.probability)]) })
            }),
        ])
        return String(decoding: (try? obj.serialized(pretty: false)) ?? Data(), as: UTF8.self)
    }
}
