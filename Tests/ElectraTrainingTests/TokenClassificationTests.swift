import Electra
import ElectraTokenizers
import Foundation
import Testing

@testable import ElectraTraining

/// CoNLL reading, word-to-subword labels and windows for token classification.
struct TokenClassificationTests {
    let conll = """
    -DOCSTART- -X- -X- O

    EU NNP I-NP I-ORG
    rejects VBZ I-VP O
    German JJ I-NP I-MISC
    call NN I-NP O

    Peter NNP I-NP I-PER
    Blackburn NNP I-NP I-PER

    -DOCSTART- -X- -X- O

    Rome NNP I-NP I-LOC

    """

    @Test func readsSentencesTagsAndLines() throws {
        let s = try CoNLL.parse(conll, file: "x.txt")
        #expect(s.map(\.words) == [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"], ["Rome"]])
        #expect(s[0].tags == ["I-ORG", "O", "I-MISC", "O"] && s[1].lines == [8, 9])
        #expect(try CoNLL.parse(conll, file: "x.txt", tagColumn: 2)[0].tags == ["I-NP", "I-VP", "I-NP", "I-NP"])
        #expect(CoNLL.labels(s) == ["I-LOC", "I-MISC", "I-ORG", "I-PER", "O"])
        #expect { try CoNLL.parse("a B C\nb D\n", file: "bad.txt") } throws: { ($0 as? ElectraError)?.message.contains("bad.txt:2") == true }
        #expect(throws: ElectraError.self) { try CoNLL.parse("a B\n", file: "x", tagColumn: 5) }
        #expect(throws: ElectraError.self) { try CoNLL.parse("\n\n-DOCSTART- O\n", file: "x") }
        // CRLF line ends (one Character to Swift) read as the same sentences on the same lines.
        let crlf = try CoNLL.parse(conll.replacingOccurrences(of: "\n", with: "\r\n"), file: "x.txt")
        #expect(crlf.map(\.words) == s.map(\.words) && crlf.map(\.tags) == s.map(\.tags) && crlf.map(\.lines) == s.map(\.lines))
    }

    func tokenizer() throws -> ElectraTokenizer {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "eu", "rejects", "german", "call", "peter", "black", "##burn", "rome", "r", "##o", "##m", "##e"]
        try (vocab.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        return try ElectraTokenizer.load(directory: dir)
    }

    @Test func labelsGoOnFirstSubwordsAndLongSentencesSplitIntoWindows() throws {
        let tok = try tokenizer()
        let s = try CoNLL.parse(conll, file: "x.txt")
        let ids = Dictionary(uniqueKeysWithValues: CoNLL.labels(s).enumerated().map { ($0.element, $0.offset) })
        let set = try TokenClassificationSet(s, file: "x.txt", tokenizer: tok, maxLength: 16, labelIds: ids)
        #expect(set.count == 3)
        // "Blackburn" -> black ##burn: the label on "black", -100 on "##burn".
        let w = set.windows[1]
        #expect(w.ids == [2, 9, 10, 11, 3] && w.labels == [-100, ids["I-PER"]!, ids["I-PER"]!, -100, -100] && w.wordStarts == [1, 2])
        let all = try TokenClassificationSet(s, file: "x.txt", tokenizer: tok, maxLength: 16, labelIds: ids, labelAllSubwords: true)
        #expect(all.windows[1].labels == [-100, ids["I-PER"]!, ids["I-PER"]!, ids["I-PER"]!, -100])
        // A window of 4 tokens holds at most 2 subwords: the first sentence becomes 2 windows,
        // "Blackburn" (2 subwords) gets its own, and every word is in exactly one window.
        let small = try TokenClassificationSet(s, file: "x.txt", tokenizer: tok, maxLength: 4, labelIds: ids)
        #expect(small.windows.map(\.sentence) == [0, 0, 1, 1, 2])
        #expect(small.windows.map { $0.wordStarts.count }.reduce(0, +) == 7)
        #expect(small.windows.allSatisfy { $0.ids.count <= 4 })
    }

    @Test func predictionsMapBackToEveryWordAcrossWindows() throws {
        let tok = try tokenizer()
        let s = try CoNLL.parse(conll, file: "x.txt")
        let names = CoNLL.labels(s)
        var c = ElectraConfig()
        c.vocabSize = 17; c.embeddingSize = 8; c.hiddenSize = 8; c.numHiddenLayers = 1; c.numAttentionHeads = 2; c.intermediateSize = 16
        c.maxPositionEmbeddings = 16
        c.id2label = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.offset, $0.element) })
        c.label2id = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })
        let m = try ElectraForTokenClassification(config: c, seed: 1)
        let whole = try TokenClassificationSet(s, file: "x", tokenizer: tok, maxLength: 16, labelIds: nil).predict(m, batchSize: 2, padId: 0)
        let split = try TokenClassificationSet(s, file: "x", tokenizer: tok, maxLength: 4, labelIds: nil).predict(m, batchSize: 2, padId: 0)
        #expect(whole.map(\.count) == [4, 2, 1] && split.map(\.count) == [4, 2, 1])
        #expect(whole.allSatisfy { $0.allSatisfy { names.contains($0) } })
    }
}
