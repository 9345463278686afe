import Electra
import Foundation
import XCTest
@testable import ElectraPipelines

/// Every pipeline against HF `pipeline()` (transformers 4.57) on the same folders and inputs:
/// labels, spans and answers identical, scores within 1e-4.
final class HFParityTests: XCTestCase {
    static let options = PipelineOptions(batchSize: 3)

    func cases(_ task: String) throws -> [FixtureCase] {
        let all = try FixtureCase.all().filter { $0.task == task }
        XCTAssertFalse(all.isEmpty, "no \(task) cases in the fixtures")
        return all
    }

    /// Our value equals HF's; where HF raised, ours throws too.
    func check(_ c: FixtureCase, tolerance: Double = 1e-4, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> PipelineJSON) {
        guard let expected = c.output else {
            XCTAssertThrowsError(try body(), "\(c.name): HF raised \(c.error ?? "")", file: file, line: line)
            return
        }
        let ours: PipelineJSON
        do { ours = try body() } catch {
            XCTFail("\(c.name): \(error)", file: file, line: line)
            return
        }
        if let d = jsonDifference(ours, expected, tolerance: tolerance) {
            XCTFail("\(c.name): \(d)\n ours: \(ours.serialized.prefix(600))", file: file, line: line)
        }
    }

    func testTextClassification() throws {
        var pipelines: [String: TextClassificationPipeline] = [:]
        for c in try cases("text-classification") {
            let p = try pipelines[c.model] ?? TextClassificationPipeline(folder: c.folder, options: Self.options)
            pipelines[c.model] = p
            var inputs: [TextClassificationPipeline.Input] = []
            var single = true
            if let s = c.inputs as? String {
                inputs = [.init(s)]
            } else if let d = c.inputs as? [String: Any] {
                inputs = [.init(d["text"] as! String, pair: d["text_pair"] as? String)]
            } else if let list = c.inputs as? [Any] {
                single = false
                inputs = list.map { x in
                    if let d = x as? [String: Any] { return .init(d["text"] as! String, pair: d["text_pair"] as? String) }
                    return .init(x as! String)
                }
            }
            let topKGiven = c.has("top_k")
            let topK: Int? = topKGiven ? c.int("top_k") : 1
            let f = c.string("function_to_apply").map { TextClassificationPipeline.Function(rawValue: $0)! }
            check(c) { TextClassificationPipeline.json(try p(inputs, topK: topK, function: f, truncation: c.bool("truncation") ?? false),
                                                       singleInput: single, topKGiven: topKGiven, pairInput: c.inputs is [String: Any]) }
        }
    }

    func testTokenClassification() throws {
        var pipelines: [String: TokenClassificationPipeline] = [:]
        for c in try cases("token-classification") {
            let p = try pipelines[c.model] ?? TokenClassificationPipeline(folder: c.folder, options: Self.options)
            pipelines[c.model] = p
            let single = c.inputs is String
            let texts = single ? [c.inputs as! String] : c.inputs as! [String]
            let strategy = AggregationStrategy(rawValue: c.string("aggregation_strategy") ?? "none")!
            check(c) { TokenClassificationPipeline.json(try p(texts, aggregation: strategy, ignoreLabels: c.strings("ignore_labels") ?? ["O"],
                                                              stride: c.int("stride")), singleInput: single) }
        }
    }

    func testQuestionAnswering() throws {
        var pipelines: [String: QuestionAnsweringPipeline] = [:]
        for c in try cases("question-answering") {
            let p = try pipelines[c.model] ?? QuestionAnsweringPipeline(folder: c.folder, options: Self.options)
            pipelines[c.model] = p
            var questions: [QuestionAnsweringPipeline.Question] = []
            let d = c.inputs as! [String: Any]
            if let q = d["question"] as? String {
                questions = [.init(question: q, context: d["context"] as! String)]
            } else {
                questions = zip(d["question"] as! [String], d["context"] as! [String]).map { .init(question: $0, context: $1) }
            }
            var s = QuestionAnsweringPipeline.Settings()
            if let k = c.int("top_k") { s.topK = k }
            if let k = c.int("max_answer_len") { s.maxAnswerLength = k }
            if let k = c.int("max_seq_len") { s.maxSeqLength = k }
            if let k = c.int("doc_stride") { s.docStride = k }
            if let b = c.bool("handle_impossible_answer") { s.handleImpossibleAnswer = b }
            if let b = c.bool("align_to_words") { s.alignToWords = b }
            check(c) { QuestionAnsweringPipeline.json(try p(questions, settings: s), singleInput: questions.count == 1) }
        }
    }

    func testFillMask() throws {
        var pipelines: [String: FillMaskPipeline] = [:]
        for c in try cases("fill-mask") {
            let p = try pipelines[c.model] ?? FillMaskPipeline(folder: c.folder, options: Self.options)
            pipelines[c.model] = p
            let single = c.inputs is String
            let texts = single ? [c.inputs as! String] : c.inputs as! [String]
            check(c) { FillMaskPipeline.json(try p(texts, topK: c.int("top_k") ?? 5, targets: c.strings("targets")), singleInput: single) }
        }
    }

    func testFeatureExtraction() throws {
        for c in try cases("feature-extraction") {
            let p = try FeatureExtractionPipeline(folder: c.folder, options: Self.options)
            let single = c.inputs is String
            let texts = single ? [c.inputs as! String] : c.inputs as! [String]
            let truncation = ((c.kwargs["tokenize_kwargs"] as? [String: Any])?["truncation"] as? Bool) ?? false
            check(c) { FeatureExtractionPipeline.json(try p(texts, truncation: truncation), singleInput: single) }
        }
    }

    func testReplacedTokenDetectionMatchesDiscriminatorLogits() throws {
        for c in try cases("replaced-token-detection") {
            let p = try ReplacedTokenDetectionPipeline(folder: c.folder, options: Self.options)
            let text = c.inputs as! String
            let r = try p(text)
            let expected = c.output as! [String: Any]
            let logits = (expected["logits"] as! [NSNumber]).map(\.floatValue)
            let ids = (expected["input_ids"] as! [NSNumber]).map(\.intValue)
            XCTAssertEqual(r.tokens.map { p.tokenizer.tokenToId($0.token)! }, Array(ids.dropFirst().dropLast()), c.name)
            for (t, z) in zip(r.tokens, logits.dropFirst().dropLast()) {
                XCTAssertEqual(t.probability, 1 / (1 + exp(-z)), accuracy: 1e-5, c.name)
            }
        }
    }

    func testRerankingMatchesPairScores() throws {
        for c in try cases("rerank") {
            let p = try RerankingPipeline(folder: c.folder, options: Self.options)
            let d = c.inputs as! [String: Any]
            let texts = d["texts"] as! [String]
            let expected = ((c.output as! [String: Any])["scores"] as! [NSNumber]).map(\.floatValue)
            let r = try p(query: d["query"] as! String, texts: texts, returnText: true)
            XCTAssertEqual(r.map(\.index).sorted(), Array(texts.indices), c.name)
            for x in r {
                XCTAssertEqual(x.score, expected[x.index], accuracy: 1e-5, c.name)
                XCTAssertEqual(x.text, texts[x.index])
            }
            XCTAssertEqual(r.map(\.score), r.map(\.score).sorted(by: >), "best first")
        }
    }
}
