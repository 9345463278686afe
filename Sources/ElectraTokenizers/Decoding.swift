extension ElectraTokenizer {
    /// Ids back to text, as HF `Tokenizer.decode`: unknown ids are skipped, special tokens are
    /// dropped when `skipSpecialTokens`, "##" pieces are glued to the previous token and
    /// (when cleanup is on) spaces before punctuation and in contractions are removed.
    /// `cleanUpTokenizationSpaces` nil = the decoder's own setting (tokenizer.json `cleanup`).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false, cleanUpTokenizationSpaces: Bool? = nil) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard let t = idToToken(id) else { continue }
            if skipSpecialTokens && core.specialTokenStrings.contains(t) { continue }
            tokens.append(t)
        }
        return decodeTokens(tokens, cleanUpTokenizationSpaces: cleanUpTokenizationSpaces ?? (cleansUpDecodedText ? true : nil))
    }

    /// Token strings back to text, as HF `convert_tokens_to_string` (the decoder alone): what
    /// pipelines show as an entity's `word`, where an [UNK] stands for the original text.
    public func decodeTokens(_ tokens: [String], cleanUpTokenizationSpaces: Bool? = nil) -> String {
        guard let decoder = core.decoder else { return tokens.joined(separator: " ") }
        let cleanup = cleanUpTokenizationSpaces ?? decoder.cleanup
        var out = ""
        for (i, token) in tokens.enumerated() {
            var piece: String
            if i != 0 {
                // Byte-wise prefix test: String.hasPrefix compares grapheme clusters, and "##"
                // followed by a combining mark (e.g. "##ि") is not a Character-level prefix.
                let t = Array(token.utf8), p = Array(decoder.prefix.utf8)
                if !p.isEmpty && t.count >= p.count && Array(t[..<p.count]) == p {
                    piece = String(decoding: t[p.count...], as: UTF8.self)
                } else {
                    piece = " " + token
                }
            } else {
                piece = token
            }
            if cleanup { piece = Self.cleanup(piece) }
            out += piece
        }
        return out
    }

    /// Decode, failing on ids outside the vocabulary instead of skipping them.
    public func decodeChecked(_ ids: [Int], skipSpecialTokens: Bool = false, cleanUpTokenizationSpaces: Bool? = nil) throws -> String {
        for id in ids where idToToken(id) == nil { throw TokenizerError.unknownTokenId(id) }
        return decode(ids, skipSpecialTokens: skipSpecialTokens, cleanUpTokenizationSpaces: cleanUpTokenizationSpaces)
    }

    /// Ids to token strings (nil for unknown ids).
    public func convertIdsToTokens(_ ids: [Int]) -> [String?] { ids.map { idToToken($0) } }

    /// HF `decoders::wordpiece::cleanup`, applied per token (including its leading space).
    static func cleanup(_ s: String) -> String {
        if !s.utf8.contains(0x20) { return s }
        var r = s
        for (a, b) in [
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
            (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
        ] {
            r = r.replacingAll(a, with: b)
        }
        return r
    }
}

extension String {
    /// Non-overlapping left-to-right replacement (Rust `str::replace`), without Foundation.
    func replacingAll(_ target: String, with replacement: String) -> String {
        let t = Array(target.utf8)
        let s = Array(self.utf8)
        if t.isEmpty || s.count < t.count { return self }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        var changed = false
        while i < s.count {
            if i + t.count <= s.count && s[i] == t[0] && Array(s[i..<(i + t.count)]) == t {
                out.append(contentsOf: replacement.utf8)
                i += t.count
                changed = true
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : self
    }
}
