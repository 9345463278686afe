import Foundation
import XCTest

@testable import ElectraTokenizers

/// Tokenizer folders against transformers' AutoTokenizer (scripts/reference/
/// make_tokenizer_folder_fixtures.py): tokenizer_config.json's casing over tokenizer.json's
/// BertNormalizer, tokens added by added_tokens.json / added_tokens_decoder /
/// additional_special_tokens / a special token tokenizer.json lacks, special tokens written with
/// lstrip and single_word, vocab.txt lines ended by a lone "\r", and when decoding cleans up.
final class FolderParityTests: XCTestCase {
    struct Expected: Decodable {
        struct Case: Decodable {
            struct Row: Decodable { let ids: [Int]; let offsets: [[Int]]; let decoded: String }
            let len: Int
            let encodings: [Row]
        }
        let texts: [String]
        let cases: [String: Case]
    }

    func testEveryFolderEncodesAsTransformers() throws {
        let root = ParityFixture.fixturesDir.deletingLastPathComponent().appendingPathComponent("folders")
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: root.appendingPathComponent("expected.json")))
        XCTAssertEqual(expected.cases.count, 16)
        for (name, want) in expected.cases.sorted(by: { $0.key < $1.key }) {
            let tok = try ElectraTokenizer.load(directory: root.appendingPathComponent(name))
            XCTAssertEqual(tok.vocabSizeWithAddedTokens, want.len, "\(name): len(tokenizer)")
            for (text, row) in zip(expected.texts, want.encodings) {
                let e = try tok.encode(text)
                XCTAssertEqual(e.ids, row.ids, "\(name): \(text)")
                XCTAssertEqual(e.offsets.map { [$0.lowerBound, $0.upperBound] }, row.offsets, "\(name): offsets of \(text)")
                XCTAssertEqual(tok.decode(e.ids, skipSpecialTokens: true), row.decoded, "\(name): decode of \(text)")
            }
        }
    }

    /// A tokenizer.json read as a file, or alone in a folder (no config names a tokenizer
    /// class), is `Tokenizer.from_file`'s: nothing overrides its normalizer.
    func testATokenizerJSONAloneKeepsItsNormalizer() throws {
        let root = ParityFixture.fixturesDir.deletingLastPathComponent().appendingPathComponent("folders")
        let json = root.appendingPathComponent("json-cased-no-config/tokenizer.json")
        XCTAssertEqual(try ElectraTokenizer.load(tokenizerJSON: json).encode("Hello World").ids, [2, 6, 8, 3])
        let alone = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-alone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: alone, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: alone) }
        try FileManager.default.copyItem(at: json, to: alone.appendingPathComponent("tokenizer.json"))
        XCTAssertEqual(try ElectraTokenizer.load(directory: alone).encode("Hello World").ids, [2, 6, 8, 3])
        let folder = try ElectraTokenizer.load(directory: root.appendingPathComponent("json-cased-no-config"))
        XCTAssertEqual(try folder.encode("Hello World").ids, [2, 5, 7, 3])  // an ELECTRA folder: transformers' do_lower_case default
    }
}
