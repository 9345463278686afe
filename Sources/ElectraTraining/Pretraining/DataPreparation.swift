import Electra
import ElectraTokenizers
import Foundation

/// Raw text (one sentence or paragraph a line, a blank line between documents; .txt, .xz or
/// .gz) into packed pretraining examples (`ExampleBuilder`) in memory-mapped shards with a
/// manifest. Streaming: a block of lines is read, tokenized on every core, packed in order,
/// and the next block read, so memory stays bounded by the block and one shard. The same
/// inputs, tokenizer and seed give the same bytes for any thread count.
public struct DataPreparation {
    public var tokenizer: ElectraTokenizer
    public var maxSeqLength = 128
    public var seed: UInt64 = 12345
    public var examplesPerShard = 100_000
    public var linesPerBlock = 16_384
    public var threads: Int?
    /// Called after each block with the bytes read so far (all inputs) and examples written.
    public var progress: ((_ bytes: Int, _ examples: Int) -> Void)?
    /// Polled after each block: true stops the run with an error (Ctrl-C), so that the
    /// caller's temporary output is removed rather than left half-built.
    public var shouldStop: (() -> Bool)?

    public init(tokenizer: ElectraTokenizer) { self.tokenizer = tokenizer }

    /// Writes shards and manifest.json into `folder` (which must exist and be empty).
    public func run(inputs: [URL], into folder: URL) throws -> PretrainingManifest {
        guard maxSeqLength >= 8 && maxSeqLength <= 100_000 else {
            throw ElectraError("--max-seq-length must be in 8...100000, got \(maxSeqLength)")
        }
        guard examplesPerShard > 0 else { throw ElectraError("examples per shard must be positive") }
        let started = Date()
        var manifest = PretrainingManifest(maxSeqLength: maxSeqLength, seed: seed,
                                           tokenizerFingerprint: tokenizer.fingerprint, vocabSize: tokenizer.vocabSizeWithAddedTokens)
        var builder = ExampleBuilder(maxLength: maxSeqLength, clsId: tokenizer.clsTokenId, sepId: tokenizer.sepTokenId, seed: seed)
        var writer = ShardWriter(folder: folder, examplesPerShard: examplesPerShard)
        var bytesBefore = 0, sawTwoTokens = false
        for url in inputs {
            let stream = try TextInputStream(url)
            defer { stream.close() }
            var fileInvalid: [Int] = []
            var lineNumber = 0
            while true {
                let lines = try stream.reader.nextLines(max: linesPerBlock)
                if lines.isEmpty { break }
                let tokens = try tokenizer.tokenIds(lines: lines, threads: threads)
                var invalid = Set(tokens.invalidUTF8)
                for k in 0..<lines.count {
                    if invalid.remove(k) != nil {
                        fileInvalid.append(lineNumber + k + 1)
                        continue
                    }
                    let ids = tokens.line(k)
                    let blank = ids.isEmpty && lines[k].allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0B || $0 == 0x0C }
                    if blank { manifest.documents += 1 }
                    if ids.count >= 2 { sawTwoTokens = true }
                    if let e = builder.add(ids, blank: blank) {
                        manifest.examples += 1
                        manifest.tokens += e.ids.count
                        try writer.append(e)
                    }
                }
                lineNumber += lines.count
                progress?(bytesBefore + stream.reader.bytesRead, manifest.examples)
                if shouldStop?() == true { throw ElectraError("stopped by a signal (Ctrl-C or SIGTERM) while reading \(url.path); nothing was written") }
            }
            // The end of a file ends its last document.
            if let e = builder.add([], blank: true) {
                manifest.examples += 1
                manifest.tokens += e.ids.count
                try writer.append(e)
            }
            manifest.documents += 1
            try stream.finish()
            manifest.lines += lineNumber
            manifest.invalidUtf8Lines += fileInvalid.count
            if !fileInvalid.isEmpty {
                let shown = fileInvalid.prefix(5).map(String.init).joined(separator: ", ")
                FileHandle.standardError.write(Data("warning: \(url.path): skipped \(fileInvalid.count) line(s) that are not valid UTF-8 (line \(shown)\(fileInvalid.count > 5 ? ", ..." : ""))\n".utf8))
            }
            bytesBefore += stream.reader.bytesRead
            manifest.sources.append(.init(path: url.path, bytes: stream.reader.bytesRead))
        }
        try writer.flush()
        guard manifest.examples > 0, sawTwoTokens else {
            throw ElectraError("the input (\(inputs.map(\.lastPathComponent).joined(separator: ", "))) holds no line of two or more tokens; there is nothing to pretrain on")
        }
        manifest.shards = writer.shards
        manifest.droppedTokens = builder.droppedTokens
        manifest.seconds = Date().timeIntervalSince(started)
        try AtomicFile.write(try manifest.encoded(), to: folder.appendingPathComponent(PretrainingManifest.fileName))
        return manifest
    }
}

/// One input file's text: read directly (.txt and anything else), or through `xz -dc` /
/// `gzip -dc` for .xz and .gz (streamed, never unpacked to disk).
final class TextInputStream {
    let url: URL
    let reader: LineReader
    private var fd: Int32 = -1
    private var process: Process?
    private var errorPipe: Pipe?

    init(_ url: URL) throws {
        self.url = url
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ElectraError("input \(url.path) does not exist")
        }
        guard !isDir.boolValue else { throw ElectraError("input \(url.path) is a folder; give text files (.txt, .xz, .gz)") }
        let ext = url.pathExtension.lowercased()
        if ext == "xz" || ext == "gz" {
            let tool = ext == "xz" ? "xz" : "gzip"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [tool, "-dc", "--", url.path]
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            p.standardInput = FileHandle.nullDevice
            do { try p.run() } catch {
                throw ElectraError("cannot run \(tool) to read \(url.path): \(error.localizedDescription)")
            }
            process = p
            errorPipe = err
            fd = out.fileHandleForReading.fileDescriptor
        } else {
            fd = open(url.path, O_RDONLY)
            guard fd >= 0 else { throw ElectraError("cannot read \(url.path): \(String(cString: strerror(errno)))") }
        }
        reader = LineReader(fd: fd, name: url.path)
    }

    /// After the last line: a decompressor that failed (corrupt file, tool missing) is an error.
    func finish() throws {
        guard let p = process else { return }
        p.waitUntilExit()
        if p.terminationStatus != 0 {
            let message = String(decoding: errorPipe?.fileHandleForReading.readDataToEndOfFile() ?? Data(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw ElectraError("\(url.path): \(p.arguments?.first ?? "decompressor") failed (exit \(p.terminationStatus)): \(message.isEmpty ? "corrupt or truncated file?" : message)")
        }
    }

    func close() {
        if process == nil, fd >= 0 { Foundation.close(fd) }
        if let p = process, p.isRunning { p.terminate() }
    }
}
