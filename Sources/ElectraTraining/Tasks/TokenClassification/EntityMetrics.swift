import Electra
import Foundation

/// Entity-level precision, recall and F1 with conlleval's chunk rules (as seqeval applies them
/// by default), so IOB1, IOB2 and IOBES tags are all read correctly: a chunk starts at B or S,
/// at I or E after O or after a chunk of another type, and after an E or S; it ends before a
/// B, S or O, after an E or S, and where the type changes. A chunk counts as found only when
/// type, start and end all match. Token accuracy counts every tag, O included.
public enum EntityMetrics {
    public struct Chunk: Hashable, Sendable {
        public let type: String
        public let start: Int, end: Int  // inclusive token indices
    }

    public struct Scores: Equatable, Sendable {
        public var precision: Double, recall: Double, f1: Double
        /// Gold chunks of this type (seqeval's "number").
        public var number: Int
    }

    public struct Report: Sendable {
        public var perType: [String: Scores]
        public var overall: Scores
        public var accuracy: Double

        /// HF's seqeval metric layout: one object per type, then overall_* keys.
        public var json: JSONValue {
            var o: [String: JSONValue] = [:]
            for (t, s) in perType {
                o[t] = .object(["precision": .number(s.precision), "recall": .number(s.recall), "f1": .number(s.f1), "number": .number(Double(s.number))])
            }
            o["overall_precision"] = .number(overall.precision)
            o["overall_recall"] = .number(overall.recall)
            o["overall_f1"] = .number(overall.f1)
            o["overall_accuracy"] = .number(accuracy)
            return .object(o)
        }
    }

    /// The prefix letter and the type of a tag: "B-PER" -> ("B", "PER"), "O" -> ("O", "").
    static func split(_ tag: String) -> (String, String) {
        guard let first = tag.first else { return ("O", "") }
        let rest = tag.dropFirst()
        return (String(first), rest.hasPrefix("-") ? String(rest.dropFirst()) : String(rest))
    }

    public static func chunks(_ tags: [String]) -> [Chunk] {
        var out: [Chunk] = []
        var prevTag = "O", prevType = "", begin = 0
        for (i, t) in (tags + ["O"]).enumerated() {
            let (tag, type) = split(t)
            let typeChanged = prevType != type
            var ends = prevTag == "E" || prevTag == "S"
            if (prevTag == "B" || prevTag == "I") && (tag == "B" || tag == "S" || tag == "O") { ends = true }
            if prevTag != "O" && typeChanged { ends = true }
            var starts = tag == "B" || tag == "S"
            if (prevTag == "E" || prevTag == "S" || prevTag == "O") && (tag == "E" || tag == "I") { starts = true }
            if tag != "O" && typeChanged { starts = true }
            if ends { out.append(Chunk(type: prevType, start: begin, end: i - 1)) }
            if starts { begin = i }
            prevTag = tag
            prevType = type
        }
        return out
    }

    static func scores(found: Int, predicted: Int, gold: Int) -> Scores {
        let p = predicted > 0 ? Double(found) / Double(predicted) : 0
        let r = gold > 0 ? Double(found) / Double(gold) : 0
        return Scores(precision: p, recall: r, f1: p + r > 0 ? 2 * p * r / (p + r) : 0, number: gold)
    }

    /// Sentences of gold and predicted tags (each pair the same length).
    public static func evaluate(gold: [[String]], predicted: [[String]]) throws -> Report {
        guard gold.count == predicted.count else { throw ElectraError("\(gold.count) gold sentences but \(predicted.count) predicted") }
        var goldCount: [String: Int] = [:], predCount: [String: Int] = [:], found: [String: Int] = [:]
        var right = 0, tokens = 0
        for (k, (g, p)) in zip(gold, predicted).enumerated() {
            guard g.count == p.count else { throw ElectraError("sentence \(k + 1): \(g.count) gold tags but \(p.count) predicted") }
            tokens += g.count
            right += zip(g, p).filter { $0 == $1 }.count
            let gc = Set(chunks(g)), pc = Set(chunks(p))
            for c in gc { goldCount[c.type, default: 0] += 1 }
            for c in pc { predCount[c.type, default: 0] += 1 }
            for c in gc.intersection(pc) { found[c.type, default: 0] += 1 }
        }
        var perType: [String: Scores] = [:]
        for t in Set(goldCount.keys).union(predCount.keys) {
            perType[t] = scores(found: found[t] ?? 0, predicted: predCount[t] ?? 0, gold: goldCount[t] ?? 0)
        }
        let overall = scores(found: found.values.reduce(0, +), predicted: predCount.values.reduce(0, +), gold: goldCount.values.reduce(0, +))
        return Report(perType: perType, overall: overall, accuracy: tokens > 0 ? Double(right) / Double(tokens) : 0)
    }
}
