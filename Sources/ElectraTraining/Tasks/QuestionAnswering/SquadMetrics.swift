import Electra
import Foundation

/// The SQuAD evaluation, as the official v1.1 and v2.0 scripts define it: answers are
/// normalised (lower case, ASCII punctuation removed, the articles a/an/the removed, white
/// space collapsed); exact match and token-overlap F1 take the best over the gold answers;
/// scores are percentages over every question (an unanswered one scores 0). v2.0: a question
/// without a gold answer is answered correctly only by "" (its gold list is [""]), and the
/// results split into HasAns and NoAns.
public enum SquadMetrics {
    static let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")

    public static func normalize(_ s: String) -> String {
        let lowered = Array(s.lowercased().filter { !punctuation.contains($0) })
        // The official regex \b(a|an|the)\b: a maximal run of word characters (letters,
        // digits, _) that is one of the articles becomes a space.
        func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        var out = "", i = 0
        while i < lowered.count {
            guard isWord(lowered[i]) else { out.append(lowered[i]); i += 1; continue }
            var j = i
            while j < lowered.count && isWord(lowered[j]) { j += 1 }
            let word = String(lowered[i..<j])
            out += (word == "a" || word == "an" || word == "the") ? " " : word
            i = j
        }
        return out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func tokens(_ s: String) -> [Substring] {
        let n = normalize(s)
        return n.split(separator: " ")
    }

    public static func exact(_ gold: String, _ predicted: String) -> Double {
        normalize(gold) == normalize(predicted) ? 1 : 0
    }

    /// Token-overlap F1. The scripts differ only where a side normalises to nothing: v2.0
    /// scores 1 when both do (an unanswerable question left empty), v1.1 scores 0 without a
    /// shared token.
    public static func f1(_ gold: String, _ predicted: String, version2: Bool = true) -> Double {
        let g = tokens(gold), p = tokens(predicted)
        if g.isEmpty || p.isEmpty { return version2 && g.isEmpty && p.isEmpty ? 1 : 0 }
        var counts: [Substring: Int] = [:]
        for t in g { counts[t, default: 0] += 1 }
        var same = 0
        for t in p where (counts[t] ?? 0) > 0 {
            counts[t]! -= 1
            same += 1
        }
        guard same > 0 else { return 0 }
        let precision = Double(same) / Double(p.count), recall = Double(same) / Double(g.count)
        return 2 * precision * recall / (precision + recall)
    }

    public struct Question: Sendable {
        public var id: String
        public var answers: [String]
        public init(id: String, answers: [String]) {
            self.id = id
            self.answers = answers
        }
    }

    /// A question without a prediction scores 0 and counts (v1.1's rule; the v2.0 script
    /// fails on one). v1.1: {"exact_match", "f1"}; v2.0: {"exact", "f1", "total", "HasAns_exact", "HasAns_f1",
    /// "HasAns_total", "NoAns_exact", "NoAns_f1", "NoAns_total"} (the parts present), with
    /// the key names of HF's squad / squad_v2 metrics.
    public static func evaluate(_ questions: [Question], predictions: [String: String], version2: Bool) -> [String: Double] {
        var exactScores: [Double] = [], f1Scores: [Double] = [], hasAnswer: [Bool] = []
        for q in questions {
            var golds = version2 ? q.answers.filter { !normalize($0).isEmpty } : q.answers
            if version2 && golds.isEmpty { golds = [""] }
            hasAnswer.append(!q.answers.filter { !normalize($0).isEmpty }.isEmpty)
            guard let p = predictions[q.id], !golds.isEmpty else {
                exactScores.append(0)
                f1Scores.append(0)
                continue
            }
            exactScores.append(golds.map { exact($0, p) }.max()!)
            f1Scores.append(golds.map { f1($0, p, version2: version2) }.max()!)
        }
        func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : 100 * xs.reduce(0, +) / Double(xs.count) }
        guard version2 else { return ["exact_match": mean(exactScores), "f1": mean(f1Scores)] }
        var out: [String: Double] = ["exact": mean(exactScores), "f1": mean(f1Scores), "total": Double(questions.count)]
        for (name, want) in [("HasAns", true), ("NoAns", false)] {
            let idx = hasAnswer.indices.filter { hasAnswer[$0] == want }
            guard !idx.isEmpty else { continue }
            out["\(name)_exact"] = mean(idx.map { exactScores[$0] })
            out["\(name)_f1"] = mean(idx.map { f1Scores[$0] })
            out["\(name)_total"] = Double(idx.count)
        }
        return out
    }
}
