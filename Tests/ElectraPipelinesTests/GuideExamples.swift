import ElectraPipelines
import Foundation

// The examples of docs/library.md, verbatim (GuideTests checks that the page and this file
// agree); GuideTests runs them on the HF-made fixture models.

func sentiment(of text: String, folder: URL) throws -> String {
    let classifier = try TextClassificationPipeline(folder: folder)
    let best = try classifier(text)[0]
    return "\(best.label) \(best.score)"
}

func entities(in text: String, folder: URL) throws -> [(String, Substring)] {
    let ner = try TokenClassificationPipeline(folder: folder)
    let scalars = text.unicodeScalars
    return try ner(text, aggregation: .simple).map { e in
        let from = scalars.index(scalars.startIndex, offsetBy: e.start)
        let to = scalars.index(scalars.startIndex, offsetBy: e.end)
        return (e.entity, Substring(text.unicodeScalars[from..<to]))
    }
}

func answer(_ question: String, in context: String, folder: URL) throws -> String {
    let qa = try QuestionAnsweringPipeline(folder: folder)
    var settings = QuestionAnsweringPipeline.Settings()
    settings.topK = 3
    settings.handleImpossibleAnswer = true
    let answers = try qa(question: question, context: context, settings: settings)
    return answers[0].answer
}

func fill(_ text: String, folder: URL) throws -> [String] {
    let generator = try FillMaskPipeline(folder: folder)
    return try generator(text, topK: 3)[0].map(\.tokenString)
}

func replacedWords(in text: String, folder: URL) throws -> [String] {
    let detector = try ReplacedTokenDetectionPipeline(folder: folder)
    return try detector(text).replacedWords(threshold: 0.5).map(\.word)
}

func similarity(_ a: String, _ b: String, folder: URL) throws -> Float {
    let embedder = try SentenceEmbeddingPipeline(folder: folder)
    let v = try embedder([a, b], settings: .init(pooling: .mean, normalize: true))
    return zip(v[0].vector, v[1].vector).reduce(0) { $0 + $1.0 * $1.1 }
}

func rerank(_ query: String, _ passages: [String], folder: URL) throws -> [Int] {
    let reranker = try RerankingPipeline(folder: folder)
    return try reranker(query: query, texts: passages, topK: 2).map(\.index)
}

import XCTest

final class GuideTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    func folder(_ name: String) -> URL { FixtureCase.root.appendingPathComponent(name) }

    /// Every ```swift block of docs/library.md appears verbatim in this file or the Hub test's.
    func testThePageAndTheseExamplesAgree() throws {
        let page = try String(contentsOf: Self.repo.appendingPathComponent("docs/library.md"), encoding: .utf8)
        let here = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let hub = try String(contentsOf: Self.repo.appendingPathComponent("Tests/ElectraHubTests/GuideHubExample.swift"), encoding: .utf8)
        let blocks = page.components(separatedBy: "```swift\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        XCTAssertGreaterThanOrEqual(blocks.count, 8)
        for b in blocks { XCTAssertTrue(here.contains(b) || hub.contains(b), "docs/library.md block not compiled by the tests:\n\(b)") }
    }

    func testTheExamplesRun() throws {
        XCTAssertEqual(try sentiment(of: "What a wonderful, great day in Paris!", folder: folder("seqcls-3")).split(separator: " ").first, "POSITIVE")
        let found = try entities(in: "My name is Wolfgang and I live in Berlin", folder: folder("ner-bio"))
        XCTAssertTrue(found.contains { $0.1 == "Berlin" }, "\(found)")
        let a = try answer("Where do I live?", in: "My name is Wolfgang and I live in Berlin", folder: folder("qa"))
        XCTAssertTrue("My name is Wolfgang and I live in Berlin".contains(a))
        XCTAssertEqual(try fill("paris is the [MASK] of france.", folder: folder("mlm")).count, 3)
        let words = try replacedWords(in: "the chef cooked the meal", folder: folder("pretraining"))
        XCTAssertTrue(words.allSatisfy { "the chef cooked the meal".contains($0) })
        let same = try similarity("Berlin", "Berlin", folder: folder("base"))
        XCTAssertEqual(same, 1, accuracy: 1e-5)
        XCTAssertEqual(try rerank("where is berlin", ["paris", "berlin", "tokyo"], folder: folder("reranker")).count, 2)
    }
}
