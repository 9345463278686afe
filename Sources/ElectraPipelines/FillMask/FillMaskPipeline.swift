import Electra
import ElectraTokenizers
import Foundation

/// HF `pipeline("fill-mask")`: the likeliest tokens for each [MASK] of a text, from an
/// `ElectraForMaskedLM` folder (ELECTRA's generator).
public final class FillMaskPipeline: Sendable {
    public struct Candidate: Sendable, Equatable {
        public var score: Float
        /// The token id.
        public var token: Int
        /// The token alone, decoded.
        public var tokenString: String
        /// The text with this token in the mask's place, decoded.
        public var sequence: String
        public var json: PipelineJSON {
            .object([.init("score", .score(score)), .init("token", .int(token)), .init("token_str", .string(tokenString)), .init("sequence", .string(sequence))])
        }
    }

    public let model: ElectraForMaskedLM
    public let tokenizer: ElectraTokenizer
    public let options: PipelineOptions

    public convenience init(folder: URL, options: PipelineOptions = .init()) throws {
        let o = try options.validated()
        let (m, t) = try PipelineLoading.load(ElectraForMaskedLM.self, from: folder, pipeline: "fill-mask", options: o)
        try self.init(model: m, tokenizer: t, options: o)
    }

    public init(model: ElectraForMaskedLM, tokenizer: ElectraTokenizer, options: PipelineOptions = .init()) throws {
        self.model = model
        self.tokenizer = try PipelineLoading.prepared(tokenizer)
        self.options = try options.applied(to: model)
    }

    /// The targets that are not vocabulary entries, with the token that stands for each (the
    /// first of its encoding; nil: none, it is dropped): what HF warns about.
    public func replacedTargets(_ targets: [String]) throws -> [(target: String, token: String?)] {
        try targets.filter { tokenizer.tokenToId($0) == nil }.map { t in
            (t, try tokenizer.encode(t, addSpecialTokens: false).ids.first.flatMap { tokenizer.idToToken($0) })
        }
    }

    /// The ids `targets` stand for: a vocabulary entry, else the first token of its encoding (HF).
    public func targetIds(_ targets: [String]) throws -> [Int] {
        var ids: [Int] = []
        for t in targets {
            if let id = tokenizer.tokenToId(t) {
                ids.append(id)
            } else if let first = try tokenizer.encode(t, addSpecialTokens: false).ids.first {
                ids.append(first)
            }
        }
        let unique = Array(Set(ids)).sorted()
        guard !unique.isEmpty else { throw ElectraError("targets \(targets) hold no token of the vocabulary") }
        // A token the tokenizer added beyond the model's vocabulary has no logit.
        if let beyond = unique.last, beyond >= model.config.vocabSize {
            throw ElectraError("target '\(tokenizer.idToToken(beyond) ?? "\(beyond)")' is token \(beyond), beyond the model's vocabulary (vocab_size \(model.config.vocabSize)): it has no score")
        }
        return unique
    }

    /// A request split into the windows the model reads, for a caller that runs the forward
    /// passes itself (a server's batcher): run `windows` through the model, then `candidates`
    /// turns each window's logits at `positions` into results.
    public struct Plan: Sendable {
        public let windows: [Encoding]
        /// Per window, the token positions whose logits `candidates` reads (its [MASK]s, in order).
        public let positions: [[Int]]
        let targetIds: [Int]?
        let k: Int
    }

    /// Tokenizes and checks `texts` (one window each); the errors of `callAsFunction`.
    public func plan(_ texts: [String], topK: Int = 5, targets: [String]? = nil) throws -> Plan {
        guard topK >= 1 else { throw ElectraError("topK must be at least 1, got \(topK)") }
        let targetIds = try targets.map(targetIds)
        let maxLength = model.config.maxPositionEmbeddings
        let mask = tokenizer.maskTokenId, maskName = tokenizer.idToToken(mask) ?? "[MASK]"
        let encodings = try texts.enumerated().map { i, text -> Encoding in
            let e = try tokenizer.encode(text)
            guard e.ids.contains(mask) else { throw ElectraError("text \(i + 1) has no \(maskName) token; write it where a word should be predicted") }
            guard e.count <= maxLength else { throw ElectraError("text \(i + 1) has \(e.count) tokens; the model reads at most \(maxLength)") }
            return e
        }
        return Plan(windows: encodings, positions: encodings.map { e in e.ids.indices.filter { e.ids[$0] == mask } }, targetIds: targetIds,
                    k: min(topK, targetIds?.count ?? model.config.vocabSize))
    }

    /// The candidates of window `window`'s masks; `logits(j)` is the vocabulary's logits at
    /// `plan.positions[window][j]`.
    public func candidates(_ plan: Plan, window: Int, logits: (Int) -> UnsafeBufferPointer<Float>) throws -> [[Candidate]] {
        let ids = plan.windows[window].ids, positions = plan.positions[window]
        let single = positions.count == 1, V = model.config.vocabSize
        return try positions.indices.map { j in
            let z = logits(j)
            try PipelineChecks.finite(z, model: "the generator")
            let probs = Scores.softmax(Array(z))
            let pool = plan.targetIds ?? Array(0..<V)
            let best = pool.sorted { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }.prefix(plan.k)
            return best.map { id in
                var filled = ids
                filled[positions[j]] = id
                filled.removeAll { $0 == tokenizer.padTokenId }
                return Candidate(score: probs[id], token: id, tokenString: tokenizer.decode([id]),
                                 sequence: tokenizer.decode(filled, skipSpecialTokens: single))
            }
        }
    }

    /// For each text, for each [MASK] in it (in order), the `topK` best candidates. `targets`
    /// limits the candidates to those tokens (scored by the full softmax, as in HF).
    public func callAsFunction(_ texts: [String], topK: Int = 5, targets: [String]? = nil) throws -> [[[Candidate]]] {
        let plan = try plan(texts, topK: topK, targets: targets)
        let V = model.config.vocabSize
        var results = [[[Candidate]]](repeating: [], count: texts.count)
        try BatchRunner(options: options, padId: tokenizer.padTokenId).run(plan.windows, forward: { try model($0) }) { index, row, L, out in
            let base = out.logits!.pointer + row * L * V
            results[index] = try candidates(plan, window: index) { j in UnsafeBufferPointer(start: base + plan.positions[index][j] * V, count: V) }
        }
        return results
    }

    public func callAsFunction(_ text: String, topK: Int = 5, targets: [String]? = nil) throws -> [[Candidate]] {
        try self([text], topK: topK, targets: targets)[0]
    }

    public func fill(_ texts: [String], topK: Int = 5, targets: [String]? = nil) async throws -> [[[Candidate]]] {
        try await runBlocking { try self(texts, topK: topK, targets: targets) }
    }

    /// HF's value: for a text with one mask the candidates, with several a list per mask;
    /// several texts give a list of those.
    public static func json(_ results: [[[Candidate]]], singleInput: Bool) -> PipelineJSON {
        let values = results.map { masks -> PipelineJSON in
            let lists = masks.map { PipelineJSON.array($0.map(\.json)) }
            return lists.count == 1 ? lists[0] : .array(lists)
        }
        return singleInput ? values[0] : .array(values)
    }
}
