import Electra

/// A model on the Hugging Face Hub: `org/name` or `org/name@revision` (a branch, tag or commit).
public struct HubName: Sendable, Hashable, CustomStringConvertible {
    public var repo: String
    public var revision: String

    public init(repo: String, revision: String = "main") {
        self.repo = repo
        self.revision = revision
    }

    /// Parses `org/name[@revision]`; nil when `text` is not of that form (a local path).
    public init?(_ text: String) {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let repo = String(parts[0])
        let segments = repo.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count == 2, segments.allSatisfy({ Self.isNamePart($0) }) else { return nil }
        if parts.count == 2 {
            let rev = String(parts[1])
            guard !rev.isEmpty, !rev.contains(".."), rev.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0 != "\\" }) else { return nil }
            self.init(repo: repo, revision: rev)
        } else {
            self.init(repo: repo)
        }
    }

    /// The Hub's rule for each half of a repo id: letters, digits, '-', '_', '.'; no "--" or
    /// "..", not starting or ending with '-' or '.', at most 96 characters.
    static func isNamePart(_ s: Substring) -> Bool {
        guard !s.isEmpty, s.count <= 96, !s.contains("--"), !s.contains("..") else { return false }
        guard let f = s.first, let l = s.last, f != "-", f != ".", l != "-", l != "." else { return false }
        return s.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    /// A full commit hash names one snapshot; anything else is a ref that can move.
    public var isCommitHash: Bool { Self.isCommit(revision) }

    static func isCommit(_ s: String) -> Bool {
        s.count == 40 && s.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    /// The cache folder's name: models--org--name.
    public var cacheFolderName: String { "models--" + repo.replacingOccurrences(of: "/", with: "--") }

    public var description: String { revision == "main" ? repo : "\(repo)@\(revision)" }
}
