import Electra
import ElectraTokenizers
import Foundation
import XCTest
@testable import ElectraPipelines

/// What the pipelines promise beyond HF's numbers: errors that name the head, padding that
/// changes nothing, safe sharing between tasks, windows for long texts.
final class PipelineBehaviourTests: XCTestCase {
    func folder(_ name: String) -> URL { FixtureCase.root.appendingPathComponent(name) }

    /// A copy of a fixture folder with config.json edited, in a temporary directory.
    func editedCopy(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipelines-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: folder(name), to: dir)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        return dir
    }

    func testWrongHeadIsNamed() {
        XCTAssertThrowsError(try TextClassificationPipeline(folder: folder("pretraining"))) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("ElectraForPreTraining") && m.contains("ElectraForSequenceClassification"), m)
        }
        XCTAssertThrowsError(try FillMaskPipeline(folder: folder("qa"))) { e in
            XCTAssertTrue("\(e)".contains("needs an ElectraForMaskedLM folder"), "\(e)")
        }
    }

    func testMissingHeadWeightsAreAnErrorUnlessAllowed() throws {
        let dir = try editedCopy("pretraining") { $0["architectures"] = ["ElectraForQuestionAnswering"] }
        XCTAssertThrowsError(try QuestionAnsweringPipeline(folder: dir)) { e in
            XCTAssertTrue("\(e)".contains("qa_outputs"), "\(e)")
        }
        let p = try QuestionAnsweringPipeline(folder: dir, options: PipelineOptions(allowUntrainedHead: true))
        XCTAssertEqual(try p(question: "who?", context: "Wolfgang lives in Berlin").count, 1)
    }

    func testFixedPaddingInTokenizerFileChangesNothing() throws {
        // A tokenizer.json that pads every text to 32 (as the shipped files once did).
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("padded-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: folder("pretraining"), to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("tokenizer.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        json["padding"] = ["strategy": ["Fixed": 32], "direction": "Right", "pad_to_multiple_of": NSNull(), "pad_id": 0,
                           "pad_type_id": 0, "pad_token": "[PAD]"] as [String: Any]
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        let text = "My name is Wolfgang and I live in Berlin"
        let plain = try ReplacedTokenDetectionPipeline(folder: folder("pretraining"))(text)
        let padded = try ReplacedTokenDetectionPipeline(folder: dir)(text)
        XCTAssertEqual(plain.tokens.count, padded.tokens.count)
        for (a, b) in zip(plain.tokens, padded.tokens) { XCTAssertEqual(a.probability, b.probability, accuracy: 1e-6) }

        // The public batch builder masks what a padded encoding carries.
        var tok = try ElectraTokenizer.load(directory: dir)
        let e = try tok.encode(text)
        XCTAssertEqual(e.count, 32, "the file's fixed padding applies to a plain encode")
        let x = try ElectraInputs(encodings: [e], padId: tok.padTokenId)
        XCTAssertEqual(x.attentionMask!.values.reduce(0, +), e.attentionMask.reduce(0, +))
        tok.padding = nil
        XCTAssertLessThan(try tok.encode(text).count, 32)
    }

    func testBatchingAndPaddingDoNotChangeResults() throws {
        let texts = ["My name is Wolfgang and I live in Berlin", "Paris", "Hugging Face is based in New York City and Paris, not in Berlin"]
        let one = try TokenClassificationPipeline(folder: folder("ner-bio"), options: PipelineOptions(batchSize: 1))(texts, aggregation: .simple)
        let three = try TokenClassificationPipeline(folder: folder("ner-bio"), options: PipelineOptions(batchSize: 3))(texts, aggregation: .simple)
        XCTAssertEqual(one.map { $0.map(\.word) }, three.map { $0.map(\.word) })
        for (a, b) in zip(one.joined(), three.joined()) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5) }
    }

    /// A pipeline asked for bf16 runs what `InferenceDType.resolved` says: where bf16 products
    /// are not native, fp32 (fp32's scores exactly, no bf16 copies built); else bf16 (close to
    /// fp32, not equal to it).
    func testBF16RequestRunsNativelyOrInFP32() throws {
        let texts: [TextClassificationPipeline.Input] = ["My name is Wolfgang and I live in Berlin", "Paris"].map { .init($0) }
        let fp32 = try TextClassificationPipeline(folder: folder("seqcls-3"))
        let bf16 = try TextClassificationPipeline(folder: folder("seqcls-3"), options: PipelineOptions(dtype: .bf16))
        let a = try fp32(texts, topK: nil), b = try bf16(texts, topK: nil)
        var gap: Float = 0
        for (x, y) in zip(a.joined(), b.joined()) {
            XCTAssertEqual(x.label, y.label)
            gap = max(gap, abs(x.score - y.score))
        }
        if BF16Kernel.route == .fp32 {
            XCTAssertEqual(gap, 0, "bf16 asked for on a CPU without native bf16 runs fp32")
            XCTAssertEqual(bf16.model.backbone.bf16WeightBytes, 0)
        } else {
            XCTAssertGreaterThan(gap, 0, "the bf16 products did not run (\(BF16Kernel.summary))")
            XCTAssertLessThan(gap, 0.02)
            XCTAssertGreaterThan(bf16.model.backbone.bf16WeightBytes, 0)
        }
    }

    func testSharedInstanceFromManyTasks() async throws {
        let p = try TextClassificationPipeline(folder: folder("seqcls-3"))
        let texts = (0..<12).map { "text number \($0) about Berlin" }
        let expected = try p(texts.map { .init($0) }, topK: nil)
        let got = try await withThrowingTaskGroup(of: (Int, [TextClassificationPipeline.LabelScore]).self) { group in
            for (i, t) in texts.enumerated() { group.addTask { (i, try await p.classify([.init(t)], topK: nil)[0]) } }
            var out = [[TextClassificationPipeline.LabelScore]](repeating: [], count: texts.count)
            for try await (i, r) in group { out[i] = r }
            return out
        }
        for (a, b) in zip(expected, got) {
            XCTAssertEqual(a.map(\.label), b.map(\.label))
            for (x, y) in zip(a, b) { XCTAssertEqual(x.score, y.score, accuracy: 1e-6) }
        }
    }

    func testProgressIsReportedNotPrinted() throws {
        final class Calls: @unchecked Sendable { var list: [(Int, Int)] = []; let lock = NSLock() }
        let calls = Calls()
        let options = PipelineOptions(batchSize: 2, progress: { d, t in calls.lock.lock(); calls.list.append((d, t)); calls.lock.unlock() })
        _ = try FeatureExtractionPipeline(folder: folder("base"), options: options)(["a", "b c", "d e f", "Berlin"])
        XCTAssertEqual(calls.list.map(\.0), [2, 4])
        XCTAssertEqual(calls.list.map(\.1), [4, 4])
    }

    func testReplacedTokenDetectionReadsLongTextsInWindows() throws {
        let p = try ReplacedTokenDetectionPipeline(folder: folder("pretraining"))
        let long = Array(repeating: "Wolfgang lives in Berlin and Paris.", count: 20).joined(separator: " ")
        let r = try p(long)
        XCTAssertGreaterThan(r.tokens.count, p.model.config.maxPositionEmbeddings)
        XCTAssertTrue(r.tokens.allSatisfy { $0.probability > 0 && $0.probability < 1 })
        // Words carry their own text and the highest probability of their tokens.
        XCTAssertEqual(r.words.first?.word, "Wolfgang")
        let words = long.split(separator: " ").count + 20  // each "." is its own word
        XCTAssertEqual(r.words.count, words)
    }

    func testSentenceEmbeddingMeanEqualsMeanOfTokenFeatures() throws {
        let texts = ["My name is Wolfgang", "Paris"]
        let features = try FeatureExtractionPipeline(folder: folder("base"))(texts)
        let vectors = try SentenceEmbeddingPipeline(folder: folder("base"))(texts)
        for (f, v) in zip(features, vectors) {
            for j in 0..<f[0].count {
                let mean = f.reduce(Float(0)) { $0 + $1[j] } / Float(f.count)
                XCTAssertEqual(v.vector[j], mean, accuracy: 1e-5)
            }
        }
        let normalized = try SentenceEmbeddingPipeline(folder: folder("base"))(texts, settings: .init(pooling: .cls, normalize: true))
        XCTAssertEqual(normalized[0].vector.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        XCTAssertEqual(normalized[0].vector[0] / normalized[0].vector[1], features[0][0][0] / features[0][0][1], accuracy: 1e-4)
    }

    /// A pipeline made from a loaded model applies the options' dtype to it too.
    func testOptionsDTypeReachesAModelPassedIn() throws {
        let loaded = try TextClassificationPipeline(folder: folder("seqcls-3"))
        XCTAssertEqual(loaded.model.backbone.inferenceDType, .fp32)
        let int8 = try TextClassificationPipeline(model: loaded.model, tokenizer: loaded.tokenizer, options: PipelineOptions(dtype: .int8))
        XCTAssertEqual(int8.model.backbone.inferenceDType, .int8)
    }

    func testOptionErrorsNameTheParameter() throws {
        let qa = try QuestionAnsweringPipeline(folder: folder("qa"))
        var s = QuestionAnsweringPipeline.Settings()
        s.topK = 0
        XCTAssertThrowsError(try qa(question: "q", context: "c", settings: s)) { XCTAssertTrue("\($0)".contains("topK"), "\($0)") }
        // Empty strings, as HF's argument handler refuses them.
        XCTAssertThrowsError(try qa(question: "", context: "c")) { XCTAssertEqual("\($0)", "`question` cannot be empty") }
        XCTAssertThrowsError(try qa([.init(question: "q", context: "c"), .init(question: "q", context: "")])) {
            XCTAssertEqual("\($0)", "question 2: `context` cannot be empty")
        }
        XCTAssertThrowsError(try FillMaskPipeline(folder: folder("mlm"))("no mask here")) { XCTAssertTrue("\($0)".contains("[MASK]"), "\($0)") }
        // A target the tokenizer added beyond the model's vocabulary has no logit: an error, not an index past them.
        let added = FileManager.default.temporaryDirectory.appendingPathComponent("mlm-added-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: folder("mlm"), to: added)
        defer { try? FileManager.default.removeItem(at: added) }
        try #"{"additional_special_tokens": ["<x>"]}"#.write(to: added.appendingPathComponent("special_tokens_map.json"), atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(at: added.appendingPathComponent("tokenizer.json"))
        let filler = try FillMaskPipeline(folder: added)
        XCTAssertThrowsError(try filler("a [MASK] here", targets: ["<x>"])) { XCTAssertTrue("\($0)".contains("beyond the model's vocabulary"), "\($0)") }
        XCTAssertThrowsError(try TextClassificationPipeline(folder: folder("seqcls-3"), options: PipelineOptions(batchSize: 0))) {
            XCTAssertTrue("\($0)".contains("batchSize"), "\($0)")
        }
    }
}

/// Tokenizer files the package writes into model folders carry no fixed padding or truncation.
final class TokenizerFileCopyTests: XCTestCase {
    func testFixedShapeSectionsBecomeNullAndTheRestIsKept() throws {
        let text = """
        {
          "version": "1.0",
          "truncation": {"max_length": 128, "strategy": "LongestFirst", "stride": 0},
          "padding": {
            "strategy": {"Fixed": 128},
            "pad_token": "[PAD] {\\" ]"
          },
          "model": {"padding": {"x": 1}, "vocab": {"[PAD]": 0, "truncation": 1}}
        }
        """
        let out = try TokenizerFileCopy.withoutFixedShape(Data(text.utf8), file: "t")
        let json = try JSONSerialization.jsonObject(with: out) as! [String: Any]
        XCTAssertTrue(json["padding"] is NSNull && json["truncation"] is NSNull)
        let model = json["model"] as! [String: Any]
        XCTAssertEqual((model["padding"] as! [String: Int])["x"], 1, "nested keys of the same name stay")
        XCTAssertEqual((model["vocab"] as! [String: Int])["truncation"], 1)
        XCTAssertTrue(String(decoding: out, as: UTF8.self).hasPrefix("{\n  \"version\": \"1.0\",\n  \"truncation\": null,"))
        XCTAssertThrowsError(try TokenizerFileCopy.withoutFixedShape(Data("{\"padding\": {".utf8), file: "bad.json"))
    }

    func testShippedTokenizersPadNothing() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for name in ["electra-tiny-discriminator", "electra-tiny-generator"] {
            let url = root.appendingPathComponent("models/\(name)/tokenizer.json")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            XCTAssertTrue(json["padding"] is NSNull && json["truncation"] is NSNull, name)
            let tok = try ElectraTokenizer.load(directory: url.deletingLastPathComponent())
            XCTAssertEqual(try tok.encode("a short text").count, 5, name)
        }
    }
}
