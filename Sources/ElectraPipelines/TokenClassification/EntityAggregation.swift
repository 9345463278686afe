/// HF's token-classification aggregation (transformers 4.57 `TokenClassificationPipeline`):
/// tokens -> words (first / average / max) -> groups of adjacent same-type entities.
public enum AggregationStrategy: String, Sendable, CaseIterable {
    /// One entity per token, with its `index`.
    case none
    /// Tokens grouped by the B-/I- rules; subwords of a word may end up in different groups.
    case simple
    /// A word takes the label of its first token.
    case first
    /// A word takes the label of the mean of its tokens' scores.
    case average
    /// A word takes the label of its token with the highest score.
    case max
}

/// A token before aggregation: its label scores, where it is, and whether it continues a word.
struct PreEntity {
    var word: String
    var scores: [Float]
    var start: Int
    var end: Int
    var index: Int
    var isSubword: Bool
}

struct EntityAggregator {
    let labels: [Int: String]
    /// Token strings back to text (the tokenizer's decoder).
    let joinTokens: ([String]) -> String

    func label(_ i: Int) -> String { labels[i] ?? "LABEL_\(i)" }

    static func argmax(_ v: [Float]) -> Int {
        var best = 0
        for i in v.indices where v[i] > v[best] { best = i }
        return best
    }

    func aggregate(_ pre: [PreEntity], _ strategy: AggregationStrategy) -> [TokenClassificationPipeline.Entity] {
        let entities: [TokenClassificationPipeline.Entity]
        switch strategy {
        case .none, .simple:
            entities = pre.map { p in
                let i = Self.argmax(p.scores)
                return .init(entity: label(i), score: p.scores[i], index: p.index, word: p.word, start: p.start, end: p.end)
            }
        case .first, .average, .max:
            entities = words(pre, strategy)
        }
        return strategy == .none ? entities : group(entities)
    }

    /// Tokens of one word (a token and the subwords after it) become one entity.
    func words(_ pre: [PreEntity], _ strategy: AggregationStrategy) -> [TokenClassificationPipeline.Entity] {
        var out: [TokenClassificationPipeline.Entity] = []
        var group: [PreEntity] = []
        for p in pre {
            if !group.isEmpty && !p.isSubword {
                out.append(word(group, strategy))
                group = []
            }
            group.append(p)
        }
        if !group.isEmpty { out.append(word(group, strategy)) }
        return out
    }

    func word(_ tokens: [PreEntity], _ strategy: AggregationStrategy) -> TokenClassificationPipeline.Entity {
        let scores: [Float]
        switch strategy {
        case .max:
            // The token whose best score is highest (the first such token on ties).
            var best = tokens[0]
            for t in tokens.dropFirst() where t.scores.max()! > best.scores.max()! { best = t }
            scores = best.scores
        case .average:
            var mean = [Float](repeating: 0, count: tokens[0].scores.count)
            for t in tokens { for j in mean.indices { mean[j] += t.scores[j] } }
            scores = mean.map { $0 / Float(tokens.count) }
        default:
            scores = tokens[0].scores
        }
        let i = Self.argmax(scores)
        return .init(entity: label(i), score: scores[i], index: nil, word: joinTokens(tokens.map(\.word)),
                     start: tokens[0].start, end: tokens[tokens.count - 1].end)
    }

    /// "B-X" begins, "I-X" continues; a label without those prefixes continues its own type.
    static func tag(_ name: String) -> (begins: Bool, type: String) {
        if name.hasPrefix("B-") { return (true, String(name.dropFirst(2))) }
        if name.hasPrefix("I-") { return (false, String(name.dropFirst(2))) }
        return (false, name)
    }

    func group(_ entities: [TokenClassificationPipeline.Entity]) -> [TokenClassificationPipeline.Entity] {
        var groups: [TokenClassificationPipeline.Entity] = []
        var run: [TokenClassificationPipeline.Entity] = []
        for e in entities {
            if let last = run.last {
                let (b, t) = Self.tag(e.entity)
                if t == Self.tag(last.entity).type && !b {
                    run.append(e)
                    continue
                }
                groups.append(merge(run))
                run = []
            }
            run.append(e)
        }
        if !run.isEmpty { groups.append(merge(run)) }
        return groups
    }

    func merge(_ run: [TokenClassificationPipeline.Entity]) -> TokenClassificationPipeline.Entity {
        // The group's type: the first label after its first "-" (HF: split("-", 1)[-1]).
        let first = run[0].entity
        let type = first.firstIndex(of: "-").map { String(first[first.index(after: $0)...]) } ?? first
        let score = run.reduce(Float(0)) { $0 + $1.score } / Float(run.count)
        return .init(entity: type, score: score, index: nil, word: joinTokens(run.map(\.word)),
                     start: run[0].start, end: run[run.count - 1].end, grouped: true)
    }

    /// Entities of overlapping windows (a long text read with a stride): sorted by start, and of
    /// overlapping ones the longer (then the higher-scoring) kept.
    static func resolveOverlaps(_ entities: [TokenClassificationPipeline.Entity]) -> [TokenClassificationPipeline.Entity] {
        guard !entities.isEmpty else { return entities }
        let sorted = entities.enumerated().sorted { ($0.element.start, $0.offset) < ($1.element.start, $1.offset) }.map(\.element)
        var out: [TokenClassificationPipeline.Entity] = []
        var previous = sorted[0]
        for e in sorted {
            if previous.start <= e.start && e.start < previous.end {
                let length = e.end - e.start, previousLength = previous.end - previous.start
                if length > previousLength || (length == previousLength && e.score > previous.score) { previous = e }
            } else {
                out.append(previous)
                previous = e
            }
        }
        out.append(previous)
        return out
    }
}
