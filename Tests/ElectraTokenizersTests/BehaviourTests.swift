import Foundation
import XCTest

@testable import ElectraTokenizers

/// Focused checks of behaviours the parity fixture covers only implicitly.
final class BehaviourTests: XCTestCase {
    var bertDir: URL { ParityFixture.fixturesDir.appendingPathComponent("bert-base-uncased") }

    /// The shipped tokenizer without its truncation/padding (loaded once for all tests).
    func plain() throws -> ElectraTokenizer {
        try BehaviourTests.cache.get(bertDir)
    }

    static let cache = TokenizerCache()

    func testSpecialTokenIdsAndVocab() throws {
        let t = try plain()
        XCTAssertEqual(t.vocabSize, 30522)
        XCTAssertEqual([t.padTokenId, t.unkTokenId, t.clsTokenId, t.sepTokenId, t.maskTokenId], [0, 100, 101, 102, 103])
        XCTAssertEqual(t.tokenToId("hello"), 7592)
        XCTAssertEqual(t.idToToken(7592), "hello")
        XCTAssertNil(t.idToToken(10_000_000))
    }

    func testFolderLoadHonoursShippedTruncationAndPadding() throws {
        let t = try ElectraTokenizer.load(directory: bertDir)
        XCTAssertEqual(t.truncation?.maxLength, 128)
        XCTAssertEqual(t.padding?.strategy, .fixed(128))
        let e = try t.encode("hello world")
        XCTAssertEqual(e.count, 128)
        XCTAssertEqual(Array(e.ids.prefix(4)), [101, 7592, 2088, 102])
        XCTAssertEqual(e.attentionMask.reduce(0, +), 4)
        let long = try t.encode(String(repeating: "word ", count: 600))
        XCTAssertEqual(long.count, 128)
        XCTAssertEqual(long.ids.last, 102)
    }

    func testVocabTxtAndTokenizerJSONAgree() throws {
        let a = try plain()
        let b = try ElectraTokenizer(vocabFile: bertDir.appendingPathComponent("vocab.txt"))
        for text in ["Héllo [MASK] wörld 中文 \u{1}x 🥰 ok", "don't stop", ""] {
            XCTAssertEqual(try a.encode(text), try b.encode(text))
        }
    }

    func testLiteralMaskBecomesSpecialToken() throws {
        let e = try plain().encode("the [MASK] sat")
        XCTAssertEqual(e.tokens, ["[CLS]", "the", "[MASK]", "sat", "[SEP]"])
        XCTAssertEqual(e.offsets[2], 4..<10)
        XCTAssertEqual(e.wordIds, [nil, 0, 1, 2, nil])
    }

    func testOffsetsSurviveNormalization() throws {
        // accent stripping, removed control chars, CJK, astral emoji
        let e = try plain().encode("Ca\u{1}fé 中 😀x")
        XCTAssertEqual(e.tokens, ["[CLS]", "cafe", "中", "[UNK]", "[SEP]"])
        XCTAssertEqual(e.offsets, [0..<0, 0..<5, 6..<7, 8..<10, 0..<0])
        XCTAssertEqual(e.byteOffsets, [0..<0, 0..<6, 7..<10, 11..<16, 0..<0])
    }

    func testLongWordsBecomeUnknown() throws {
        let t = try plain()
        XCTAssertEqual(try t.encode(String(repeating: "a", count: 101)).tokens, ["[CLS]", "[UNK]", "[SEP]"])
        XCTAssertNotEqual(try t.encode(String(repeating: "a", count: 100)).tokens[1], "[UNK]")
    }

    func testPairsTypeIdsAndOverflowWindows() throws {
        var t = try plain()
        try t.setTruncation(TruncationOptions(maxLength: 12, strategy: .onlySecond, stride: 2))
        let e = try t.encode("what is it?", pair: "one two three four five six seven eight nine ten eleven")
        XCTAssertEqual(e.count, 12)
        XCTAssertEqual(e.typeIds, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
        XCTAssertFalse(e.overflowing.isEmpty)
        XCTAssertEqual(e.overflowing[0].tokens.prefix(6), ["[CLS]", "what", "is", "it", "?", "[SEP]"])
        // stride: the window starts 2 tokens before the previous one ended
        XCTAssertEqual(e.overflowing[0].tokens[6...7], ["four", "five"])
    }

    func testBatchPaddingLongestLeftAndMultiple() throws {
        var t = try plain()
        t.padding = PaddingOptions(strategy: .longest, direction: .left, padToMultipleOf: 8)
        let batch = try t.encodeBatch(["a", "a b c d e f g h i"])
        XCTAssertEqual(batch.map(\.count), [16, 16])
        XCTAssertEqual(batch[0].ids.prefix(13), ArraySlice(repeating: 0, count: 13))
        XCTAssertEqual(batch[0].attentionMask.suffix(3), [1, 1, 1])
        XCTAssertEqual(try t.encodeBatch(["x"], threads: 1).first?.count, 8)
    }

    func testBatchEqualsSequentialOnAllThreadCounts() throws {
        let t = try plain()
        let fx = try ParityFixture.shared()
        let texts = Array(fx.singles[3000..<3400]) + Array(fx.singles[90000..<90100])
        let one = try t.encodeBatch(texts, threads: 1)
        XCTAssertEqual(try t.encodeBatch(texts), one)
        XCTAssertEqual(try t.encodeBatch(texts, threads: 3), one)
    }

    func testDecode() throws {
        let t = try plain()
        let e = try t.encode("Hello, world! I don't know it's 3.14.")
        // HF's WordPiece cleanup works per token, so "don ' t" keeps its spaces (as in HF).
        XCTAssertEqual(t.decode(e.ids, skipSpecialTokens: true), "hello, world! i don ' t know it ' s 3. 14.")
        XCTAssertEqual(t.decode(e.ids), "[CLS] hello, world! i don ' t know it ' s 3. 14. [SEP]")
        XCTAssertEqual(t.decode(try t.encode("नमस्ते हिन्दी").ids, skipSpecialTokens: true), "नमसत हिनदी")
        XCTAssertEqual(t.decode([7592, 999_999, 2088]), "hello world")
        XCTAssertThrowsError(try t.decodeChecked([7592, 999_999]))
        XCTAssertEqual(t.decode([7592, 1010, 2088], cleanUpTokenizationSpaces: false), "hello , world")
    }

    func testAddSpecialTokensOff() throws {
        let e = try plain().encode("hello", pair: "world", addSpecialTokens: false)
        XCTAssertEqual(e.ids, [7592, 2088])
        XCTAssertEqual(e.typeIds, [0, 1])
    }

    func testLineTokenizerWritesJSONLines() throws {
        var lt = LineTokenizer(tokenizer: try plain())
        lt.chunkLines = 2
        let out = try runLines(lt, "hello world\n\nthe [MASK]\r\nlast")
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.count, 5)
        XCTAssertEqual(lines[0], #"{"input_ids":[101,7592,2088,102],"token_type_ids":[0,0,0,0],"attention_mask":[1,1,1,1],"offset_mapping":[[0,0],[0,5],[6,11],[0,0]],"tokens":["[CLS]","hello","world","[SEP]"]}"#)
        XCTAssertEqual(lines[1], #"{"input_ids":[101,102],"token_type_ids":[0,0],"attention_mask":[1,1],"offset_mapping":[[0,0],[0,0]],"tokens":["[CLS]","[SEP]"]}"#)
        for l in lines.dropLast() {
            XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(l.utf8)))
        }
        var stride = LineTokenizer(tokenizer: try plain())
        try stride.tokenizer.setTruncation(TruncationOptions(maxLength: 5, stride: 1))
        let o = try runLines(stride, "one two three four five six")
        let obj = try JSONSerialization.jsonObject(with: Data(o.utf8)) as! [String: Any]
        XCTAssertEqual((obj["overflowing"] as? [Any])?.count, 2)
    }

    func testLineTokenizerIdsOnly() throws {
        var lt = LineTokenizer(tokenizer: try plain())
        lt.idsOnly = true
        lt.chunkLines = 2
        XCTAssertEqual(try runLines(lt, "hello world\n\nthe [MASK]\r\nlast"), "101 7592 2088 102\n101 102\n101 1996 103 102\n101 2197 102\n")
        try lt.tokenizer.setTruncation(TruncationOptions(maxLength: 5, stride: 1))
        let windows = try runLines(lt, "one two three four five six").dropLast().split(separator: "\t")
        XCTAssertEqual(windows.count, 3)
        XCTAssertEqual(windows.map { $0.split(separator: " ").count }, [5, 5, 4])
        // What --ids writes, detokenize reads back.
        XCTAssertEqual(try LineDetokenizer(tokenizer: try plain()).decodeLine(String(windows[0]), number: 1), "one two three")
    }

    func testLineDetokenizerRoundTrip() throws {
        let t = try plain()
        let d = LineDetokenizer(tokenizer: t)
        XCTAssertEqual(try d.decodeLine(#"{"input_ids":[101,7592,2088,102]}"#, number: 1), "hello world")
        XCTAssertEqual(try d.decodeLine("[101, 7592, 2088, 102]", number: 1), "hello world")
        XCTAssertEqual(try d.decodeLine("7592 2088", number: 1), "hello world")
        XCTAssertEqual(try d.decodeLine("", number: 1), "")
    }
}

/// Run a LineTokenizer over `input` through pipes; returns stdout text.
func runLines(_ lt: LineTokenizer, _ input: String) throws -> String {
    let inURL = FileManager.default.temporaryDirectory.appendingPathComponent("tok-in-\(UUID().uuidString)")
    let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("tok-out-\(UUID().uuidString)")
    try Data(input.utf8).write(to: inURL)
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: inURL)
        try? FileManager.default.removeItem(at: outURL)
    }
    let inH = try FileHandle(forReadingFrom: inURL)
    let outH = try FileHandle(forWritingTo: outURL)
    try lt.run(input: inH.fileDescriptor, output: outH.fileDescriptor)
    try inH.close()
    try outH.close()
    return String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
}

final class TokenizerCache: @unchecked Sendable {
    private var value: ElectraTokenizer?
    private let lock = NSLock()

    func get(_ dir: URL) throws -> ElectraTokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let value { return value }
        var t = try ElectraTokenizer.load(directory: dir)
        t.padding = nil
        try t.setTruncation(nil)
        value = t
        return t
    }
}
