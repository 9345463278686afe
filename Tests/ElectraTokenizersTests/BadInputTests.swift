import Foundation
import XCTest

@testable import ElectraTokenizers

/// Every bad input gives a descriptive error (never a crash).
final class BadInputTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("tok-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tmp)
    }

    var bertDir: URL { ParityFixture.fixturesDir.appendingPathComponent("bert-base-uncased") }

    func write(_ name: String, _ text: String) throws -> URL {
        let url = tmp.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func assertError(_ message: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssert("\(error)".contains(message), "error \"\(error)\" does not mention \"\(message)\"", file: file, line: line)
        }
    }

    func testMissingVocab() {
        assertError("file not found") { _ = try ElectraTokenizer(vocabFile: self.tmp.appendingPathComponent("nope.txt")) }
        assertError("no tokenizer.json or vocab.txt") { _ = try ElectraTokenizer.load(directory: self.tmp) }
        assertError("file not found") { _ = try ElectraTokenizer.load(directory: self.tmp.appendingPathComponent("missing")) }
    }

    func testEmptyVocab() throws {
        let url = try write("vocab.txt", "")
        assertError("vocabulary is empty") { _ = try ElectraTokenizer(vocabFile: url) }
        let json = try write("empty.json", #"{"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{}}}"#)
        assertError("vocabulary is empty") { _ = try ElectraTokenizer.load(tokenizerJSON: json) }
    }

    func testDuplicateVocabEntries() throws {
        let url = try write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\nhello\n")
        assertError("duplicate vocabulary entry \"hello\"") { _ = try ElectraTokenizer(vocabFile: url) }
        assertError("lines 6 and 8") { _ = try ElectraTokenizer(vocabFile: url) }
        let json = try write("dup.json", #"{"model":{"type":"WordPiece","unk_token":"a","vocab":{"a":0,"b":0}}}"#)
        assertError("maps both \"a\" and \"b\" to id 0") { _ = try ElectraTokenizer.load(tokenizerJSON: json) }
    }

    /// A vocab.txt saved with Windows line ends reads as transformers reads it: the same ids.
    func testVocabWithWindowsLineEnds() throws {
        let lines = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s"]
        let unix = try ElectraTokenizer(vocabFile: try write("vocab.txt", lines.joined(separator: "\n") + "\n"))
        let windows = try ElectraTokenizer(vocabFile: try write("vocab-crlf.txt", lines.joined(separator: "\r\n") + "\r\n"))
        let text = "Hello worlds [MASK]"
        XCTAssertEqual(try windows.encode(text).ids, try unix.encode(text).ids)
        XCTAssertEqual(try windows.encode(text).ids, [2, 5, 6, 7, 4, 3])
    }

    func testMissingSpecialToken() throws {
        let url = try write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n")
        assertError("mask_token \"[MASK]\" is not in the vocabulary") { _ = try ElectraTokenizer(vocabFile: url) }
    }

    func testMalformedTokenizerJSONNamesTheField() throws {
        let base = #""unk_token":"[UNK]","vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"[MASK]":4}"#
        let cases: [(String, String)] = [
            ("{not json", "field `(root)`"),
            ("[1,2]", "field `(root)` must be a JSON object"),
            (#"{"normalizer":null}"#, "field `model` is missing"),
            (#"{"model":{"type":"WordPiece","vocab":{"a":0}}}"#, "field `model.unk_token` is missing"),
            (#"{"model":{"type":"WordPiece","unk_token":"a","vocab":[1]}}"#, "field `model.vocab` must be an object"),
            (#"{"model":{"type":"WordPiece","unk_token":"a","vocab":{"a":"x"}}}"#, #"field `model.vocab["a"]`"#),
            (#"{"model":{"type":"WordPiece",\#(base),"max_input_chars_per_word":"many"}}"#, "field `model.max_input_chars_per_word` must be an integer"),
            (#"{"model":{"type":"WordPiece",\#(base)},"added_tokens":[{"id":0}]}"#, "field `added_tokens[0].content` is missing"),
            (#"{"model":{"type":"WordPiece",\#(base)},"normalizer":{"type":"BertNormalizer","lowercase":"yes"}}"#, "field `normalizer.lowercase` must be a boolean"),
            (#"{"model":{"type":"WordPiece",\#(base)},"truncation":{"max_length":8,"strategy":"Middle"}}"#, "field `truncation.strategy`"),
            (#"{"model":{"type":"WordPiece",\#(base)},"padding":{"strategy":{"Fixed":"x"}}}"#, "field `padding.strategy`"),
            (#"{"model":{"type":"WordPiece",\#(base)},"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[X]","type_id":0}}],"pair":[],"special_tokens":{}}}"#, "field `post_processor.single[0].SpecialToken.id`"),
        ]
        for (i, (json, message)) in cases.enumerated() {
            let url = try write("t\(i).json", json)
            assertError(message) { _ = try ElectraTokenizer.load(tokenizerJSON: url) }
        }
    }

    func testUnsupportedModelsAreRejectedClearly() throws {
        for (type, field) in [("BPE", "model.type"), ("Unigram", "model.type"), ("WordLevel", "model.type")] {
            let url = try write("\(type).json", #"{"model":{"type":"\#(type)","vocab":{}}}"#)
            assertError("\(field) \"\(type)\" is not supported") { _ = try ElectraTokenizer.load(tokenizerJSON: url) }
        }
        let pre = try write("pre.json", #"{"model":{"type":"WordPiece","unk_token":"a","vocab":{"a":0}},"pre_tokenizer":{"type":"ByteLevel"}}"#)
        assertError("pre_tokenizer.type \"ByteLevel\" is not supported") { _ = try ElectraTokenizer.load(tokenizerJSON: pre) }
    }

    func testMaxLengthSmallerThanSpecialTokens() throws {
        var t = try ElectraTokenizer.load(directory: bertDir)
        assertError("max_length 1 is smaller than the 2 special tokens") {
            try t.setTruncation(TruncationOptions(maxLength: 1))
        }
        try t.setTruncation(TruncationOptions(maxLength: 2))
        let tok = t
        assertError("max_length 2 is smaller than the 3 special tokens") { _ = try tok.encode("a", pair: "b") }
        assertError("stride 10 must be smaller") { try t.setTruncation(TruncationOptions(maxLength: 8, stride: 10)) }
    }

    func testTruncationErrorsLikeHF() throws {
        var t = try ElectraTokenizer.load(directory: bertDir)
        t.padding = nil
        try t.setTruncation(TruncationOptions(maxLength: 6, strategy: .onlySecond))
        let tok = t
        assertError("only_second needs a pair") { _ = try tok.encode("one two three four five six seven") }
        assertError("too short") { _ = try tok.encode("one two three four five six seven", pair: "a") }
    }

    func testInvalidUTF8NamesTheLine() throws {
        let lt = LineTokenizer(tokenizer: try ElectraTokenizer.load(directory: bertDir))
        var bytes = Array("good line\nsecond\n".utf8)
        bytes += [0x62, 0x61, 0xFF, 0x64, 0x0A]
        let inURL = tmp.appendingPathComponent("in.txt")
        try Data(bytes).write(to: inURL)
        assertError("invalid UTF-8 on line 3") { _ = try self.run(lt, inURL) }
        var lenient = lt
        lenient.replaceInvalidUTF8 = true
        let out = try run(lenient, inURL)
        XCTAssertEqual(out.split(separator: "\n").count, 3)
        XCTAssert(out.contains("\"ba\",\"##d\"") || out.contains("\"bad\"") || out.contains("\"ba\""), out)
    }

    func testPairLineWithoutTab() throws {
        var lt = LineTokenizer(tokenizer: try ElectraTokenizer.load(directory: bertDir))
        lt.pairs = true
        let inURL = try write("pairs.txt", "a\tb\nno tab here\n")
        assertError("line 2: --pairs expects TEXT<TAB>PAIR") { _ = try self.run(lt, inURL) }
    }

    func testDetokenizeRejectsBadIds() throws {
        var t = try ElectraTokenizer.load(directory: bertDir)
        t.padding = nil
        let d = LineDetokenizer(tokenizer: t)
        assertError("line 4: token id 99999999 is not in the vocabulary") { _ = try d.decodeLine("1 99999999", number: 4) }
        assertError("line 2: \"x\" is not a token id") { _ = try d.decodeLine("1 x", number: 2) }
        assertError("line 3: JSON object has no `input_ids`") { _ = try d.decodeLine(#"{"ids":[1]}"#, number: 3) }
    }

    /// The writer thread's failure reaches the caller (no hang, no silent loss), with chunks
    /// queued behind it; many small chunks keep their input order.
    func testWriteErrorsAndOrderThroughTheWriterThread() throws {
        var lt = LineTokenizer(tokenizer: try ElectraTokenizer.load(directory: bertDir))
        lt.tokenizer.padding = nil
        lt.chunkLines = 3
        let text = (0..<200).map { "line number \($0)" }.joined(separator: "\n")
        let inURL = try write("many.txt", text)
        let out = try run(lt, inURL).split(separator: "\n")
        XCTAssertEqual(out.count, 200)
        for (k, line) in out.enumerated() {
            let ids = (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["input_ids"] as? [Int]
            XCTAssertEqual(ids, try lt.tokenizer.encode("line number \(k)").ids, "line \(k)")
        }
        let readOnly = open("/dev/null", O_RDONLY)
        defer { Foundation.close(readOnly) }
        let i = try FileHandle(forReadingFrom: inURL)
        defer { try? i.close() }
        assertError("stdout") { _ = try lt.run(input: i.fileDescriptor, output: readOnly) }
    }

    func run(_ lt: LineTokenizer, _ url: URL) throws -> String {
        let outURL = tmp.appendingPathComponent("out-\(UUID().uuidString).jsonl")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        let i = try FileHandle(forReadingFrom: url)
        let o = try FileHandle(forWritingTo: outURL)
        defer {
            try? i.close()
            try? o.close()
        }
        try lt.run(input: i.fileDescriptor, output: o.fileDescriptor)
        return String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
    }
}
