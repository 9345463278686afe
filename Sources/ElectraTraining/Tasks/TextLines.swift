/// The lines of a data file's text, ended by "\n" or "\r\n" (files written on Windows).
/// Why not `split(separator: "\n")`: Swift reads "\r\n" as one Character, not "\r" then
/// "\n", so that split left a CRLF file as a single line.
public enum TextLines {
    public static func split(_ text: String, omittingEmpty: Bool = false) -> [Substring] {
        text.split(omittingEmptySubsequences: omittingEmpty) { $0 == "\n" || $0 == "\r\n" }
    }
}
