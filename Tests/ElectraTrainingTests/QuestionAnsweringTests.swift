import Electra
import ElectraTokenizers
import Foundation
import Testing

@testable import ElectraTraining

/// SQuAD reading, windows and the mapping of answers back to exact context substrings.
struct QuestionAnsweringTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/tiny-electra")

    func squad(_ paragraphs: [(String, [(String, String, [(String, Int)])])]) throws -> URL {
        let data: JSONValue = .object(["version": .string("1.1"), "data": .array([.object(["title": .string("t"), "paragraphs": .array(paragraphs.map { ctx, qas in
            .object(["context": .string(ctx), "qas": .array(qas.map { id, q, answers in
                .object(["id": .string(id), "question": .string(q), "answers": .array(answers.map { .object(["text": .string($0.0), "answer_start": .number(Double($0.1))]) })])
            })])
        })])])])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("squad-\(UUID().uuidString).json")
        try data.serialized(pretty: false).write(to: url)
        return url
    }

    /// Offsets in Unicode scalars: accents and CJK before the answer still point at it; an
    /// answer that is not the context at answer_start is counted and left out.
    @Test func readsAnswersByScalarOffsets() throws {
        let ctx = "Café 東京 is where Zoë met the Dalai Lama in 1990."
        let scalars = Array(ctx.unicodeScalars)
        let start = scalars.firstIndex { $0 == "Z" }!
        let url = try squad([(ctx, [("q1", "Who met?", [("Zoë", start)]), ("q2", "When?", [("1991", 44)])])])
        let loaded = try SquadFile.read(url)
        #expect(loaded.questions.count == 2 && loaded.questions[0].answers.first?.text == "Zoë")
        #expect(loaded.mismatched.count == 1 && loaded.mismatched[0].hasPrefix("q2"))
        #expect(loaded.questions[1].answers.isEmpty)
    }

    /// Long contexts in small windows: every window holding the answer maps its start/end
    /// tokens back to exactly the answer's characters; the others point at [CLS]. Answers at
    /// window borders, inside long words and after accented text are all included.
    @Test func windowsMapAnswersBackExactly() throws {
        let tok = try ElectraTokenizer.load(directory: Self.folder)
        let filler = (0..<40).map { "word\($0)" }.joined(separator: " ")
        let ctx = "Résumé: \(filler) the answer is Constantinople, city. \(filler) end."
        let s = Array(ctx.unicodeScalars)
        let text = "Constantinople", idx = ctx.range(of: text)!.lowerBound
        let start = ctx.unicodeScalars.distance(from: ctx.unicodeScalars.startIndex, to: idx)
        let q = SquadQuestion(id: "x", question: "Which city?", context: ctx, answers: [(text, start)], isImpossible: false)
        for (length, stride) in [(48, 16), (64, 24), (128, 32)] {
            let f = try SquadFeatures([q], tokenizer: tok, maxLength: length, docStride: stride)
            #expect(f.count > 1 || length == 128)
            var holding = 0
            for w in f.windows {
                #expect(w.ids.count <= length)
                if w.start == 0 { #expect(w.end == 0); continue }
                holding += 1
                let range = w.contextOffsets[w.start]!.lowerBound..<w.contextOffsets[w.end]!.upperBound
                #expect(String(String.UnicodeScalarView(s[range])) == text, "length \(length)")
            }
            #expect(holding >= 1, "length \(length): no window holds the answer")
        }
    }

    /// Predicted answers are always exact substrings of their context (a random model).
    @Test func predictionsAreContextSubstrings() throws {
        let tok = try ElectraTokenizer.load(directory: Self.folder)
        var c = try ElectraConfig.load(from: Self.folder.appendingPathComponent("config.json"))
        c.architectures = ["ElectraForQuestionAnswering"]
        let m = try ElectraForQuestionAnswering(config: c, seed: 2)
        let contexts = ["Naïve café owners in Zürich sold 12,000 croissants in 2019.", "東京 is the capital of Japan, and it is large."]
        let qs = contexts.enumerated().map { SquadQuestion(id: "q\($0.offset)", question: "What?", context: $0.element, answers: [], isImpossible: true) }
        let f = try SquadFeatures(qs, tokenizer: tok, maxLength: 24, docStride: 8)
        let p = try f.predictions(m, batchSize: 4, padId: tok.padTokenId, maxAnswerLength: 5, version2: false)
        for q in qs {
            let a = p.answers[q.id]!
            #expect(!a.isEmpty && q.context.contains(a), "\(a)")
            #expect(p.nullOdds[q.id]!.isFinite)
        }
        let v2 = try f.predictions(m, batchSize: 4, padId: tok.padTokenId, version2: true, nullThreshold: -1e9)
        #expect(v2.answers.values.allSatisfy { $0.isEmpty })
    }
}

/// The task pipelines on excerpts of the real data (Tests/ElectraTrainingTests/Fixtures/tasks,
/// cut from ../shared/data): SQuAD answers map back through small windows, CoNLL sentences
/// split into windows lose no word.
struct RealDataExcerptTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("tasks")

    @Test func squadAnswersSurviveSmallWindows() throws {
        let tok = try ElectraTokenizer.load(directory: QuestionAnsweringTests.folder)
        let loaded = try SquadFile.read(Self.fixtures.appendingPathComponent("squad-excerpt.json"))
        #expect(loaded.questions.count == 13 && loaded.mismatched.isEmpty)
        for (length, stride) in [(48, 16), (96, 32)] {
            let f = try SquadFeatures(loaded.questions, tokenizer: tok, maxLength: length, docStride: stride)
            var exact = 0, held = 0
            for (qi, q) in loaded.questions.enumerated() {
                let answer = q.answers[0].text
                let windows = f.windows.filter { $0.question == qi && $0.start > 0 }
                #expect(!windows.isEmpty, "\(q.id): no window holds \"\(answer)\"")
                let scalars = Array(q.context.unicodeScalars)
                for w in windows {
                    held += 1
                    let text = String(String.UnicodeScalarView(scalars[w.contextOffsets[w.start]!.lowerBound..<w.contextOffsets[w.end]!.upperBound]))
                    #expect(text.contains(answer), "\(q.id): \"\(text)\" should contain \"\(answer)\"")
                    if text == answer { exact += 1 }
                }
            }
            // Only answers that start or end inside a word piece come back wider.
            #expect(Double(exact) >= 0.9 * Double(held), "\(exact) of \(held) exact")
        }
    }

    @Test func conllSentencesLoseNoWordInWindows() throws {
        let tok = try ElectraTokenizer.load(directory: QuestionAnsweringTests.folder)
        let sentences = try CoNLL.read(Self.fixtures.appendingPathComponent("conll2003-dev-excerpt.txt"))
        #expect(sentences.count >= 55)
        let labels = Dictionary(uniqueKeysWithValues: CoNLL.labels(sentences).enumerated().map { ($0.element, $0.offset) })
        for length in [12, 32, 128] {
            let set = try TokenClassificationSet(sentences, file: "excerpt", tokenizer: tok, maxLength: length, labelIds: labels)
            #expect(set.windows.allSatisfy { $0.ids.count <= length })
            for (s, sentence) in sentences.enumerated() {
                let words = set.windows.filter { $0.sentence == s }.reduce(0) { $0 + $1.wordStarts.count }
                #expect(words == sentence.words.count, "sentence \(s) at length \(length)")
            }
            // Every word's label sits on exactly one subword.
            #expect(set.windows.reduce(0) { $0 + $1.labels.filter { $0 >= 0 }.count } == sentences.reduce(0) { $0 + $1.words.count })
        }
    }
}
