import Electra
import ElectraTokenizers
import Foundation

/// HF `pipeline("question-answering")`: answer spans of a context, from an
/// `ElectraForQuestionAnswering` folder. Long contexts are read in overlapping windows.
public final class QuestionAnsweringPipeline: Sendable {
    public struct Question: Sendable {
        public var question: String
        public var context: String
        public init(question: String, context: String) { self.question = question; self.context = context }
    }

    public struct Answer: Sendable, Equatable {
        public var score: Double
        /// Character offsets (Unicode scalars) into the context.
        public var start: Int
        public var end: Int
        public var answer: String
        public var json: PipelineJSON {
            .object([.init("score", .number(score)), .init("start", .int(start)), .init("end", .int(end)), .init("answer", .string(answer))])
        }
    }

    /// HF's options; nil means HF's default.
    public struct Settings: Sendable {
        /// Answers per question (HF `top_k`, 1).
        public var topK = 1
        /// Overlap between windows, in tokens (HF `doc_stride`: min(maxSeqLen / 2, 128)).
        public var docStride: Int?
        /// Longest answer, in tokens (HF `max_answer_len`, 15).
        public var maxAnswerLength = 15
        /// Tokens per window, question included (HF `max_seq_len`: min(384, the model's positions)).
        public var maxSeqLength: Int?
        /// Also offer the empty answer, scored by [CLS] (HF `handle_impossible_answer`).
        public var handleImpossibleAnswer = false
        /// Widen spans to whole words (HF `align_to_words`, true).
        public var alignToWords = true
        public init() {}
    }

    public let model: ElectraForQuestionAnswering
    public let tokenizer: ElectraTokenizer
    public let options: PipelineOptions

    public convenience init(folder: URL, options: PipelineOptions = .init()) throws {
        let o = try options.validated()
        let (m, t) = try PipelineLoading.load(ElectraForQuestionAnswering.self, from: folder, pipeline: "question-answering", options: o)
        try self.init(model: m, tokenizer: t, options: o)
    }

    public init(model: ElectraForQuestionAnswering, tokenizer: ElectraTokenizer, options: PipelineOptions = .init()) throws {
        self.model = model
        self.tokenizer = try PipelineLoading.prepared(tokenizer)
        self.options = try options.applied(to: model)
    }

    /// A request split into the windows the model reads, for a caller that runs the forward
    /// passes itself (a server's batcher): run `windows` through the model, `spans` reads each
    /// window's start and end logits, `answers` ranks a question's spans over its windows.
    public struct Plan: Sendable {
        public let windows: [Encoding]
        /// The question each window belongs to.
        public let owner: [Int]
        let questions: [Question]
        let settings: Settings
        let clsTokenId: Int
    }

    /// One window's candidate spans and its empty answer's score.
    public struct WindowSpans: Sendable {
        let spans: [SpanDecoding.Span]
        let nullScore: Float
    }

    /// Tokenizes the questions into windows; the option errors of `callAsFunction`.
    public func plan(_ questions: [Question], settings s: Settings = .init()) throws -> Plan {
        guard s.topK >= 1 else { throw ElectraError("topK must be at least 1, got \(s.topK)") }
        guard s.maxAnswerLength >= 1 else { throw ElectraError("maxAnswerLength must be at least 1, got \(s.maxAnswerLength)") }
        let positions = model.config.maxPositionEmbeddings
        let maxSeq = s.maxSeqLength ?? min(384, positions)
        guard maxSeq > 3 && maxSeq <= positions else {
            throw ElectraError("maxSeqLength must be in 4...\(positions) (the model's positions), got \(maxSeq)")
        }
        let stride = s.docStride ?? min(maxSeq / 2, 128)
        guard stride >= 0 && stride <= maxSeq else { throw ElectraError("docStride (\(stride)) must be in 0...maxSeqLength (\(maxSeq))") }
        var tok = tokenizer
        do {
            try tok.setTruncation(TruncationOptions(maxLength: maxSeq, strategy: .onlySecond, stride: stride))
        } catch {
            throw ElectraError("docStride \(stride) does not fit windows of \(maxSeq) tokens: \(error)")
        }
        var windows: [Encoding] = [], owner: [Int] = []
        for (q, x) in questions.enumerated() {
            // As HF's argument handler: an empty string would get a span of the other one.
            for (name, value) in [("question", x.question), ("context", x.context)] where value.isEmpty {
                throw ElectraError(questions.count == 1 ? "`\(name)` cannot be empty" : "question \(q + 1): `\(name)` cannot be empty")
            }
            let e: Encoding
            do { e = try tok.encode(x.question, pair: x.context) } catch {
                throw ElectraError("question \(q + 1) does not fit windows of \(maxSeq) tokens with docStride \(stride) (\(error)); use a shorter question or a larger maxSeqLength")
            }
            var main = e
            main.overflowing = []
            for w in [main] + e.overflowing {
                windows.append(w)
                owner.append(q)
            }
        }
        return Plan(windows: windows, owner: owner, questions: questions, settings: s, clsTokenId: tok.clsTokenId)
    }

    /// Window `index`'s spans from its start and end logits (one per token).
    public func spans(_ plan: Plan, window index: Int, start startLogits: UnsafePointer<Float>, end endLogits: UnsafePointer<Float>) throws -> WindowSpans {
        let s = plan.settings, w = plan.windows[index]
        // Capped: a window has fewer spans than this anyway, and topK * 2 must not overflow.
        let topK = min(s.topK, 1 << 30)
        let preTopK = s.alignToWords ? topK * 2 + 10 : topK
        let allowed = (0..<w.count).map { i in w.sequenceIds[i] == 1 || w.ids[i] == plan.clsTokenId }
        try PipelineChecks.finite(UnsafeBufferPointer(start: startLogits, count: w.count), model: "the QA model")
        var start = SpanDecoding.probabilities(startLogits, count: w.count, allowed: allowed)
        var end = SpanDecoding.probabilities(endLogits, count: w.count, allowed: allowed)
        let null = start[0] * end[0]
        start[0] = 0
        end[0] = 0
        return WindowSpans(spans: SpanDecoding.best(start: start, end: end, allowed: allowed, k: preTopK, maxAnswerLength: s.maxAnswerLength), nullScore: null)
    }

    /// Each question's best answers from its windows' spans (`perWindow`, in `plan.windows` order).
    public func answers(_ plan: Plan, _ perWindow: [WindowSpans]) -> [[Answer]] {
        let s = plan.settings, windows = plan.windows
        var results: [[Answer]] = []
        for (q, x) in plan.questions.enumerated() {
            let context = Array(x.context.unicodeScalars)
            var answers: [Answer] = []
            var minNull = 1_000_000.0
            for k in windows.indices where plan.owner[k] == q {
                minNull = min(minNull, Double(perWindow[k].nullScore))
                for span in perWindow[k].spans {
                    let (a, b) = Self.characters(windows[k], span, alignToWords: s.alignToWords)
                    let text = a < b && b <= context.count ? String(String.UnicodeScalarView(context[a..<b])) : ""
                    // The same text from another span or window adds its score (HF).
                    if let same = answers.firstIndex(where: { $0.answer.lowercased() == text.lowercased() }) {
                        answers[same].score += Double(span.score)
                    } else {
                        answers.append(Answer(score: Double(span.score), start: a, end: b, answer: text))
                    }
                }
            }
            if s.handleImpossibleAnswer { answers.append(Answer(score: minNull, start: 0, end: 0, answer: "")) }
            // Stable sort, best first.
            let ranked = answers.enumerated().sorted { $0.element.score > $1.element.score || ($0.element.score == $1.element.score && $0.offset < $1.offset) }
            results.append(ranked.prefix(s.topK).map(\.element))
        }
        return results
    }

    /// The best answers of each question, best first (at most `settings.topK`).
    public func callAsFunction(_ questions: [Question], settings s: Settings = .init()) throws -> [[Answer]] {
        let plan = try plan(questions, settings: s)
        var perWindow = [WindowSpans](repeating: WindowSpans(spans: [], nullScore: 0), count: plan.windows.count)
        try BatchRunner(options: options, padId: tokenizer.padTokenId).run(plan.windows, forward: { try model($0) }) { index, row, L, out in
            perWindow[index] = try spans(plan, window: index, start: out.startLogits!.pointer + row * L, end: out.endLogits!.pointer + row * L)
        }
        return answers(plan, perWindow)
    }

    public func callAsFunction(question: String, context: String, settings: Settings = .init()) throws -> [Answer] {
        try self([Question(question: question, context: context)], settings: settings)[0]
    }

    public func answers(_ questions: [Question], settings: Settings = .init()) async throws -> [[Answer]] {
        try await runBlocking { try self(questions, settings: settings) }
    }

    /// The character span of a token span: from the start of its first word to the end of its
    /// last word (within this window) when aligning to words, else the tokens' own offsets.
    static func characters(_ w: Encoding, _ span: SpanDecoding.Span, alignToWords: Bool) -> (Int, Int) {
        if alignToWords, let first = w.wordIds[span.start], let last = w.wordIds[span.end] {
            let tokensOf = { (word: Int) in (0..<w.count).filter { w.sequenceIds[$0] == 1 && w.wordIds[$0] == word } }
            if let a = tokensOf(first).first, let b = tokensOf(last).last {
                return (w.offsets[a].lowerBound, w.offsets[b].upperBound)
            }
        }
        return (w.offsets[span.start].lowerBound, w.offsets[span.end].upperBound)
    }

    /// HF's value: one answer is a dict, several a list; several questions give a list of those.
    public static func json(_ results: [[Answer]], singleInput: Bool) -> PipelineJSON {
        let values = results.map { $0.count == 1 ? $0[0].json : PipelineJSON.array($0.map(\.json)) }
        return singleInput ? values[0] : .array(values)
    }
}
