import Electra
import ElectraTokenizers
import Foundation

/// HF `pipeline("token-classification")` (NER): entities with character spans into the
/// caller's string, from an `ElectraForTokenClassification` folder. Safe to share between tasks.
public final class TokenClassificationPipeline: Sendable {
    public struct Entity: Sendable, Equatable {
        /// The label (`entity`), or the group's type (`entity_group`) when aggregated.
        public var entity: String
        public var score: Float
        /// The token's position in its encoding ([CLS] is 0); only without aggregation.
        public var index: Int?
        /// The token, or the text of the word or group as the tokenizer decodes it.
        public var word: String
        /// Character offsets (Unicode scalars, as Python indexes str) into the input text.
        public var start: Int
        public var end: Int
        /// True when this is a group (HF names the label `entity_group`).
        public var grouped: Bool = false

        public var json: PipelineJSON {
            var f: [PipelineJSON.Field] = [.init(grouped ? "entity_group" : "entity", .string(entity)), .init("score", .score(score))]
            if let index { f.append(.init("index", .int(index))) }
            f += [.init("word", .string(word)), .init("start", .int(start)), .init("end", .int(end))]
            return .object(f)
        }
    }

    public let model: ElectraForTokenClassification
    public let tokenizer: ElectraTokenizer
    public let options: PipelineOptions

    public convenience init(folder: URL, options: PipelineOptions = .init()) throws {
        let o = try options.validated()
        let (m, t) = try PipelineLoading.load(ElectraForTokenClassification.self, from: folder, pipeline: "token-classification", options: o)
        try self.init(model: m, tokenizer: t, options: o)
    }

    public init(model: ElectraForTokenClassification, tokenizer: ElectraTokenizer, options: PipelineOptions = .init()) throws {
        self.model = model
        self.tokenizer = try PipelineLoading.prepared(tokenizer)
        self.options = try options.applied(to: model)
    }

    /// A request split into the windows the model reads, for a caller that runs the forward
    /// passes itself (a server's batcher): run `windows` through the model, `entities` reads
    /// each window's logits, `merge` puts a text's windows together.
    public struct Plan: Sendable {
        public let windows: [Encoding]
        /// The text each window belongs to.
        public let owner: [Int]
        let texts: [String]
        let aggregation: AggregationStrategy
        let ignoreLabels: [String]
        let tokenizer: ElectraTokenizer
    }

    /// Tokenizes `texts` into windows; the option errors of `callAsFunction`.
    public func plan(_ texts: [String], aggregation: AggregationStrategy = .none, ignoreLabels: [String] = ["O"],
                     stride: Int? = nil) throws -> Plan {
        let maxLength = model.config.maxPositionEmbeddings
        var tok = tokenizer
        if let stride {
            guard aggregation != .none else {
                throw ElectraError("stride reads the whole text in windows, which needs an aggregation strategy other than none (as in HF)")
            }
            guard stride >= 0 && stride < maxLength - 2 else {
                throw ElectraError("stride must be in 0..<\(maxLength - 2) (the window's tokens without [CLS] and [SEP]), got \(stride)")
            }
        }
        try tok.setTruncation(TruncationOptions(maxLength: maxLength, stride: stride ?? 0))
        var windows: [Encoding] = [], owner: [Int] = []
        for (t, text) in texts.enumerated() {
            let e = try tok.encode(text)
            var all = [e]
            if stride != nil { all += e.overflowing }
            for var w in all {
                w.overflowing = []
                windows.append(w)
                owner.append(t)
            }
        }
        return Plan(windows: windows, owner: owner, texts: texts, aggregation: aggregation, ignoreLabels: ignoreLabels, tokenizer: tok)
    }

    /// The entities of one window; `logits` holds its tokens' logits, token-major (count x labels).
    public func entities(_ plan: Plan, window index: Int, logits: UnsafeBufferPointer<Float>) throws -> [Entity] {
        let C = model.config.numLabels, tok = plan.tokenizer
        let w = plan.windows[index], text = plan.texts[plan.owner[index]]
        try PipelineChecks.finite(UnsafeBufferPointer(rebasing: logits[0..<(w.count * C)]), model: "the token classifier")
        let aggregator = EntityAggregator(labels: model.config.id2label, joinTokens: { tok.decodeTokens($0) })
        let scalars = Array(text.unicodeScalars)
        var pre: [PreEntity] = []
        for i in 0..<w.count where w.specialTokensMask[i] == 0 {
            let scores = Scores.softmax(Array(logits[(i * C)..<((i + 1) * C)]))
            let span = w.offsets[i]
            let reference = span.upperBound <= scalars.count ? String(String.UnicodeScalarView(scalars[span])) : ""
            var word = tok.idToToken(w.ids[i]) ?? ""
            // A token whose text differs in length from its span continues a word ("##" pieces).
            var isSubword = word.unicodeScalars.count != reference.unicodeScalars.count
            if w.ids[i] == tok.unkTokenId {
                word = reference
                isSubword = false
            }
            pre.append(PreEntity(word: word, scores: scores, start: span.lowerBound, end: span.upperBound, index: i, isSubword: isSubword))
        }
        return aggregator.aggregate(pre, plan.aggregation).filter { !plan.ignoreLabels.contains($0.entity) }
    }

    /// Each text's entities from its windows' (`perWindow`, in `plan.windows` order).
    public func merge(_ plan: Plan, _ perWindow: [[Entity]]) -> [[Entity]] {
        var results = [[Entity]](repeating: [], count: plan.texts.count)
        var windowsOf = [Int](repeating: 0, count: plan.texts.count)
        for (k, t) in plan.owner.enumerated() {
            results[t] += perWindow[k]
            windowsOf[t] += 1
        }
        for t in results.indices where windowsOf[t] > 1 { results[t] = EntityAggregator.resolveOverlaps(results[t]) }
        return results
    }

    /// Entities of each text. `ignoreLabels`: labels (or group types) left out (HF default ["O"]).
    /// Texts longer than the model's positions are cut there unless `stride` is given; then they
    /// are read in windows overlapping by `stride` tokens (not with `.none`, as in HF).
    public func callAsFunction(_ texts: [String], aggregation: AggregationStrategy = .none, ignoreLabels: [String] = ["O"],
                               stride: Int? = nil) throws -> [[Entity]] {
        let plan = try plan(texts, aggregation: aggregation, ignoreLabels: ignoreLabels, stride: stride)
        let C = model.config.numLabels
        var perWindow = [[Entity]](repeating: [], count: plan.windows.count)
        try BatchRunner(options: options, padId: plan.tokenizer.padTokenId).run(plan.windows, forward: { try model($0) }) { index, row, L, out in
            let logits = UnsafeBufferPointer(start: out.logits!.pointer + row * L * C, count: plan.windows[index].count * C)
            perWindow[index] = try entities(plan, window: index, logits: logits)
        }
        return merge(plan, perWindow)
    }

    public func callAsFunction(_ text: String, aggregation: AggregationStrategy = .none, ignoreLabels: [String] = ["O"],
                               stride: Int? = nil) throws -> [Entity] {
        try self([text], aggregation: aggregation, ignoreLabels: ignoreLabels, stride: stride)[0]
    }

    public func entities(_ texts: [String], aggregation: AggregationStrategy = .none, ignoreLabels: [String] = ["O"],
                         stride: Int? = nil) async throws -> [[Entity]] {
        try await runBlocking { try self(texts, aggregation: aggregation, ignoreLabels: ignoreLabels, stride: stride) }
    }

    /// HF's value: a list of entities for one text, a list of such lists for several.
    public static func json(_ results: [[Entity]], singleInput: Bool) -> PipelineJSON {
        let lists = results.map { PipelineJSON.array($0.map(\.json)) }
        return singleInput ? lists[0] : .array(lists)
    }
}
