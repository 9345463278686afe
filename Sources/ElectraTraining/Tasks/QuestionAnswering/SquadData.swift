import Electra
import ElectraTokenizers
import Foundation

/// One SQuAD question with its context. Offsets are in Unicode scalars, as SQuAD's
/// answer_start (a Python string index) and the tokenizer's offsets are.
public struct SquadQuestion: Sendable {
    public var id: String
    public var question: String
    public var context: String
    public var answers: [(text: String, start: Int)]
    public var isImpossible: Bool

    public init(id: String, question: String, context: String, answers: [(text: String, start: Int)], isImpossible: Bool) {
        self.id = id
        self.question = question
        self.context = context
        self.answers = answers
        self.isImpossible = isImpossible
    }
}

/// SQuAD v1.1 / v2.0 JSON ({"data": [{"paragraphs": [{"context", "qas": [{"id", "question",
/// "answers": [{"text", "answer_start"}], "is_impossible"}]}]}]}).
public enum SquadFile {
    public struct Loaded: Sendable {
        public var questions: [SquadQuestion]
        /// Answers whose text is not the context at answer_start ("id: text"): counted,
        /// reported, and left out of training.
        public var mismatched: [String]
    }

    public static func read(_ url: URL) throws -> Loaded {
        let data = try InputFile.contents(of: url)
        let file = url.lastPathComponent
        guard let articles = try JSONValue.parse(data, source: file).objectValue?["data"]?.arrayValue else {
            throw ElectraError("\(file): not SQuAD JSON (no \"data\" list)")
        }
        var out = Loaded(questions: [], mismatched: [])
        for article in articles {
            for p in article.objectValue?["paragraphs"]?.arrayValue ?? [] {
                guard let po = p.objectValue, let context = po["context"]?.stringValue else { throw ElectraError("\(file): a paragraph without \"context\"") }
                let scalars = Array(context.unicodeScalars)
                for qa in po["qas"]?.arrayValue ?? [] {
                    guard let q = qa.objectValue, let id = q["id"]?.stringValue, let question = q["question"]?.stringValue else {
                        throw ElectraError("\(file): a question without \"id\" or \"question\"")
                    }
                    var answers: [(String, Int)] = []
                    for a in q["answers"]?.arrayValue ?? [] {
                        guard let ao = a.objectValue, let text = ao["text"]?.stringValue, let start = ao["answer_start"]?.intValue else {
                            throw ElectraError("\(file): question \(id): an answer without \"text\" or \"answer_start\"")
                        }
                        let n = text.unicodeScalars.count
                        if start < 0 || start + n > scalars.count || String(String.UnicodeScalarView(scalars[start..<(start + n)])) != text {
                            out.mismatched.append("\(id): \"\(text)\" at \(start)")
                            continue
                        }
                        answers.append((text, start))
                    }
                    let impossible = q["is_impossible"]?.boolValue ?? false
                    out.questions.append(SquadQuestion(id: id, question: question, context: context, answers: answers,
                                                       isImpossible: impossible || (q["answers"]?.arrayValue?.isEmpty ?? true)))
                }
            }
        }
        guard !out.questions.isEmpty else { throw ElectraError("\(file) holds no question") }
        return out
    }
}

/// Question + context windows: only the context is cut, into windows of `maxLength` tokens
/// overlapping by `docStride`; each window knows which of its tokens are context and where
/// they lie in the context (offsets), so answers map back to exact substrings.
public struct SquadFeatures: Sendable {
    public struct Window: Sendable {
        public var question: Int
        public var ids: [Int], typeIds: [Int]
        /// Per token: its character range in the context, or nil (question, special tokens).
        public var contextOffsets: [Range<Int>?]
        /// Token positions of the first gold answer, or (0, 0) (= [CLS]) when the window does
        /// not hold it (or the question has none).
        public var start: Int, end: Int
    }

    public let questions: [SquadQuestion]
    public private(set) var windows: [Window] = []
    public var count: Int { windows.count }
    public var tokenCount: Int { windows.reduce(0) { $0 + $1.ids.count } }

    public init(_ questions: [SquadQuestion], tokenizer: ElectraTokenizer, maxLength: Int, docStride: Int) throws {
        self.questions = questions
        var tok = tokenizer
        tok.padding = nil
        do { try tok.setTruncation(TruncationOptions(maxLength: maxLength, strategy: .onlySecond, stride: docStride, direction: .right)) } catch {
            throw ElectraError("\(error); lower --doc-stride (\(docStride)) or raise --max-length (\(maxLength))")
        }
        for (qi, q) in questions.enumerated() {
            let e: Encoding
            do { e = try tok.encode(q.question, pair: q.context) } catch let error as ElectraError {
                throw ElectraError("question \(q.id): \(error.message); lower --doc-stride (\(docStride)) or raise --max-length (\(maxLength))")
            } catch {
                throw ElectraError("question \(q.id): \(error); lower --doc-stride (\(docStride)) or raise --max-length (\(maxLength))")
            }
            for w in [e] + e.overflowing {
                let offsets = w.sequenceIds.indices.map { w.sequenceIds[$0] == 1 ? w.offsets[$0] : nil }
                var start = 0, end = 0
                if let a = q.answers.first {
                    let s = a.start, t = a.start + a.text.unicodeScalars.count
                    let ctx = offsets.indices.filter { offsets[$0] != nil }
                    if let first = ctx.first, let last = ctx.last, offsets[first]!.lowerBound <= s, offsets[last]!.upperBound >= t {
                        start = ctx.last { offsets[$0]!.lowerBound <= s }!
                        end = ctx.first { offsets[$0]!.upperBound >= t }!
                    }
                }
                windows.append(Window(question: qi, ids: w.ids, typeIds: w.typeIds, contextOffsets: offsets, start: start, end: end))
            }
        }
    }

    public func batch(_ indices: ArraySlice<Int>, padId: Int, withPositions: Bool = true) -> ElectraInputs {
        let l = indices.map { windows[$0].ids.count }.max() ?? 1, b = indices.count
        var ids = [Int](repeating: padId, count: b * l), types = [Int](repeating: 0, count: b * l), mask = [Int](repeating: 0, count: b * l)
        for (row, i) in indices.enumerated() {
            for (t, id) in windows[i].ids.enumerated() {
                ids[row * l + t] = id
                types[row * l + t] = windows[i].typeIds[t]
                mask[row * l + t] = 1
            }
        }
        var x = ElectraInputs(inputIds: IntTensor(shape: [b, l], values: ids), attentionMask: IntTensor(shape: [b, l], values: mask),
                              tokenTypeIds: IntTensor(shape: [b, l], values: types))
        if withPositions {
            x.startPositions = IntTensor(shape: [b], values: indices.map { windows[$0].start })
            x.endPositions = IntTensor(shape: [b], values: indices.map { windows[$0].end })
        }
        return x
    }

    /// The answer for each question: the best valid span (both ends in the context, end >= start,
    /// at most `maxAnswerLength` tokens; the `nBest` best starts x ends of each window) by start +
    /// end logit across its windows, as the exact context substring; with `version2`, "" when
    /// the null score (the lowest [CLS] start + end over the windows) beats the best span by more
    /// than `nullThreshold`. Also each question's null odds (null score - best span score).
    public func predictions(_ model: ElectraForQuestionAnswering, batchSize: Int, padId: Int, maxAnswerLength: Int = 30, nBest: Int = 20,
                            version2: Bool, nullThreshold: Double = 0,
                            progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> (answers: [String: String], nullOdds: [String: Double]) {
        var best = [(score: Double, text: String)?](repeating: nil, count: questions.count)
        var null = [Double](repeating: .infinity, count: questions.count)
        for start in stride(from: 0, to: windows.count, by: max(batchSize, 1)) {
            defer { progress?(min(start + batchSize, windows.count), windows.count) }
            let idx = Array(start..<min(start + batchSize, windows.count))
            let x = batch(idx[...], padId: padId, withPositions: false)
            let out = try model(x)
            let l = x.inputIds.shape[1], sl = out.startLogits!.scalars, el = out.endLogits!.scalars
            for (row, i) in idx.enumerated() {
                let w = windows[i], n = w.ids.count
                let s = (0..<n).map { Double(sl[row * l + $0]) }, e = (0..<n).map { Double(el[row * l + $0]) }
                null[w.question] = min(null[w.question], s[0] + e[0])
                let starts = s.indices.sorted { s[$0] > s[$1] }.prefix(nBest), ends = e.indices.sorted { e[$0] > e[$1] }.prefix(nBest)
                let scalars = Array(questions[w.question].context.unicodeScalars)
                for a in starts {
                    for b in ends {
                        guard let oa = w.contextOffsets[a], let ob = w.contextOffsets[b], b >= a, b - a + 1 <= maxAnswerLength else { continue }
                        let score = s[a] + e[b]
                        if best[w.question] == nil || score > best[w.question]!.score {
                            best[w.question] = (score, String(String.UnicodeScalarView(scalars[oa.lowerBound..<ob.upperBound])))
                        }
                    }
                }
            }
        }
        var answers: [String: String] = [:], odds: [String: Double] = [:]
        for (k, q) in questions.enumerated() {
            let span = best[k]
            let diff = null[k] - (span?.score ?? -.infinity)
            odds[q.id] = diff.isFinite ? diff : 1e9
            answers[q.id] = version2 && (span == nil || diff > nullThreshold) ? "" : (span?.text ?? "")
        }
        return (answers, odds)
    }
}
