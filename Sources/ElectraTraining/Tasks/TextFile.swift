import Electra
import Foundation

/// Data files as text (TSV, CoNLL, JSON lines, CSV, one text a line): read however they are
/// reached, decoded, and split into lines, the same way for every task.
public enum TextFile {
    /// The file's text: its bytes (InputFile: pipes too), decoded by `decodeUTF8`.
    public static func read(_ url: URL) throws -> String {
        try decodeUTF8(InputFile.contents(of: url), file: url.lastPathComponent)
    }

    /// The bytes as text, without a leading byte-order mark (Windows editors write one, and it
    /// would stick to a TSV header's first column name); invalid UTF-8 is an error naming the
    /// line and byte column.
    public static func decodeUTF8(_ data: Data, file: String) throws -> String {
        if let text = String(data: data, encoding: .utf8) { return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text }
        var line = 1, column = 1
        let bytes = [UInt8](data)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let len = b < 0x80 ? 1 : b >> 5 == 0b110 ? 2 : b >> 4 == 0b1110 ? 3 : b >> 3 == 0b11110 ? 4 : 0
            if len == 0 || i + len > bytes.count || String(bytes: bytes[i..<i + len], encoding: .utf8) == nil { break }
            if b == 0x0A { line += 1; column = 1 } else { column += len }
            i += len
        }
        throw ElectraError("\(file):\(line): invalid UTF-8 at byte column \(column) (the file must be UTF-8 text)")
    }

    /// The lines of a text, ended by "\n" or "\r\n" (files written on Windows). Why not
    /// `split(separator: "\n")`: Swift reads "\r\n" as one Character, not "\r" then "\n", so
    /// that split left a CRLF file as a single line.
    public static func lines(_ text: String, omittingEmpty: Bool = false) -> [Substring] {
        text.split(omittingEmptySubsequences: omittingEmpty) { $0 == "\n" || $0 == "\r\n" }
    }
}
