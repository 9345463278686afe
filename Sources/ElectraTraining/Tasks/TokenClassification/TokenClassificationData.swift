import Electra
import ElectraTokenizers
import Foundation

/// CoNLL sentences as model windows: each word tokenized on its own (as transformers'
/// `is_split_into_words`), the word's label on its first subword and -100 on the others (or on
/// every subword with `labelAllSubwords`), and a sentence longer than the window split at word
/// boundaries into several windows, so that no word is lost (never silently truncated).
public struct TokenClassificationSet: Sendable {
    public struct Window: Sendable {
        public var ids: [Int]            // [CLS] ... [SEP]
        public var labels: [Int]         // per id, -100 where not scored
        public var sentence: Int
        public var firstWord: Int        // index in the sentence of the window's first word
        public var wordStarts: [Int]     // position in `ids` of each word's first subword
    }

    public let sentences: [CoNLLSentence]
    public private(set) var windows: [Window] = []
    public var count: Int { windows.count }
    public var tokenCount: Int { windows.reduce(0) { $0 + $1.ids.count } }

    /// `labelIds` nil: no labels (prediction). A tag outside `labelIds` gets no label (-100);
    /// evaluation reports such tags (`unknownTags`).
    public init(_ sentences: [CoNLLSentence], file: String, tokenizer: ElectraTokenizer, maxLength: Int,
                labelIds: [String: Int]?, labelAllSubwords: Bool = false) throws {
        self.sentences = sentences
        var tok = tokenizer
        try tok.setTruncation(nil)
        tok.padding = nil
        let room = maxLength - 2
        guard room >= 1 else { throw ElectraError("--max-length must be above 2, got \(maxLength)") }
        for (s, sentence) in sentences.enumerated() {
            var pieces: [[Int]] = []
            for w in sentence.words {
                var ids = try tok.encode(w, addSpecialTokens: false).ids
                if ids.isEmpty { ids = [tok.unkTokenId] }
                pieces.append(Array(ids.prefix(room)))  // a single word longer than a window keeps its first pieces
            }
            var first = 0
            while first < pieces.count {
                var ids = [tok.clsTokenId], labels = [-100], starts: [Int] = []
                var w = first
                while w < pieces.count && ids.count - 1 + pieces[w].count <= room {
                    starts.append(ids.count)
                    let label: Int
                    if let labelIds {
                        label = labelIds[sentence.tags[w]] ?? -100
                    } else {
                        label = -100
                    }
                    for (k, id) in pieces[w].enumerated() {
                        ids.append(id)
                        labels.append(k == 0 || labelAllSubwords ? label : -100)
                    }
                    w += 1
                }
                ids.append(tok.sepTokenId)
                labels.append(-100)
                windows.append(Window(ids: ids, labels: labels, sentence: s, firstWord: first, wordStarts: starts))
                first = w
            }
        }
    }

    /// Tags of the sentences that `labelIds` does not know, with a line where each occurs.
    public func unknownTags(_ labelIds: [String: Int]) -> [(tag: String, line: Int)] {
        var seen: [String: Int] = [:]
        for s in sentences { for (t, line) in zip(s.tags, s.lines) where labelIds[t] == nil && seen[t] == nil { seen[t] = line } }
        return seen.sorted { $0.value < $1.value }.map { ($0.key, $0.value) }
    }

    /// Inputs for the windows at `indices`, padded to the longest.
    public func batch(_ indices: ArraySlice<Int>, padId: Int, withLabels: Bool = true) -> ElectraInputs {
        let l = indices.map { windows[$0].ids.count }.max() ?? 1, b = indices.count
        var ids = [Int](repeating: padId, count: b * l), mask = [Int](repeating: 0, count: b * l), labels = [Int](repeating: -100, count: b * l)
        for (row, i) in indices.enumerated() {
            for (t, id) in windows[i].ids.enumerated() {
                ids[row * l + t] = id
                mask[row * l + t] = 1
                labels[row * l + t] = windows[i].labels[t]
            }
        }
        var x = ElectraInputs(inputIds: IntTensor(shape: [b, l], values: ids), attentionMask: IntTensor(shape: [b, l], values: mask),
                              tokenTypeIds: IntTensor(shape: [b, l], values: [Int](repeating: 0, count: b * l)))
        if withLabels { x.labels = IntTensor(shape: [b, l], values: labels) }
        return x
    }

    /// Each sentence's predicted tags (the argmax at each word's first subword) from `model`.
    public func predict(_ model: ElectraForTokenClassification, batchSize: Int, padId: Int,
                        progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> [[String]] {
        var tags = sentences.map { [String](repeating: "O", count: $0.words.count) }
        let names = model.config.id2label
        for start in stride(from: 0, to: windows.count, by: max(batchSize, 1)) {
            defer { progress?(min(start + batchSize, windows.count), windows.count) }
            let idx = Array(start..<min(start + batchSize, windows.count))
            let x = batch(idx[...], padId: padId, withLabels: false)
            let logits = try model(x).logits!
            let l = x.inputIds.shape[1], C = model.config.numLabels
            for (row, i) in idx.enumerated() {
                let w = windows[i]
                for (k, pos) in w.wordStarts.enumerated() {
                    let z = logits.pointer + (row * l + pos) * C
                    var best = 0
                    for c in 1..<C where z[c] > z[best] { best = c }
                    tags[w.sentence][w.firstWord + k] = names[best] ?? "O"
                }
            }
        }
        return tags
    }
}
