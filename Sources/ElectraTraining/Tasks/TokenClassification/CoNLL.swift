import Electra
import Foundation

/// One sentence of a CoNLL file: its words, their tags, and the lines they came from.
public struct CoNLLSentence: Sendable, Equatable {
    public var words: [String]
    public var tags: [String]
    /// 1-based line number of each word.
    public var lines: [Int]

    public init(words: [String], tags: [String], lines: [Int]) {
        self.words = words
        self.tags = tags
        self.lines = lines
    }
}

/// CoNLL files (CoNLL-2000 chunking, CoNLL-2003 NER and their kin): whitespace-separated
/// columns, the word first and the tag in the last column (or `tagColumn`), a blank line
/// between sentences, `-DOCSTART-` lines between documents (skipped). Tags are kept as
/// written (IOB1 or IOB2); the metrics read both.
public enum CoNLL {
    public static func read(_ url: URL, tagColumn: Int? = nil) throws -> [CoNLLSentence] {
        try parse(try TextFile.read(url), file: url.lastPathComponent, tagColumn: tagColumn)
    }

    public static func parse(_ text: String, file: String, tagColumn: Int? = nil) throws -> [CoNLLSentence] {
        var sentences: [CoNLLSentence] = []
        var current = CoNLLSentence(words: [], tags: [], lines: [])
        var columns: Int?
        func flush() {
            if !current.words.isEmpty { sentences.append(current) }
            current = CoNLLSentence(words: [], tags: [], lines: [])
        }
        for (k, line) in TextFile.lines(text).enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty { flush(); continue }
            if fields[0] == "-DOCSTART-" { flush(); continue }
            if let c = columns, c != fields.count {
                throw ElectraError("\(file):\(k + 1): \(fields.count) columns, but the lines before have \(c)")
            }
            columns = fields.count
            guard fields.count >= 2 else { throw ElectraError("\(file):\(k + 1): one column; a CoNLL line needs the word and its tag") }
            let tag = tagColumn ?? fields.count - 1
            guard tag >= 1 && tag < fields.count else {
                throw ElectraError("--tag-column \(tag) is outside \(file)'s \(fields.count) columns (0 is the word)")
            }
            current.words.append(String(fields[0]))
            current.tags.append(String(fields[tag]))
            current.lines.append(k + 1)
        }
        flush()
        guard !sentences.isEmpty else { throw ElectraError("\(file) holds no sentence") }
        return sentences
    }

    /// The tag set, sorted (what id2label records).
    public static func labels(_ sentences: [CoNLLSentence]) -> [String] {
        Array(Set(sentences.flatMap(\.tags))).sorted()
    }
}
