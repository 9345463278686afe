import ArgumentParser
import Electra
import ElectraKernels
import ElectraTokenizers
import ElectraTraining
import Foundation

struct PrepareData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare-data",
        abstract: "Pack raw text into pretraining examples (shards + manifest.json) for `electra pretrain`.",
        discussion: """
        Input: one sentence or paragraph a line, a blank line between documents (.txt, .xz, .gz). \
        Examples are packed as google-research/electra's build_pretraining_dataset does: \
        [CLS] A [SEP] B [SEP], split at a line boundary, never two documents in one segment. \
        The output folder also gets the tokenizer's files (tokenizer/), so pretrain needs no --tokenizer. \
        Deterministic for a seed, whatever the thread count. Lines that are not UTF-8 are skipped and counted.
        """)

    @Option(help: "Tokenizer folder (tokenizer.json or vocab.txt).") var tokenizer: String
    @Option(parsing: .upToNextOption, help: "Text files (.txt, .xz, .gz).") var input: [String]
    @Option(help: "Output folder (created; must not exist unless --overwrite).") var output: String
    @Option(help: "Tokens per example, special tokens included.") var maxSeqLength = 128
    @Option(help: "Seed for the packing's random choices.") var seed: UInt64 = 12345
    @Option(help: "Examples per shard file.") var examplesPerShard = 100_000
    @Flag(help: "In an existing output folder, replace what prepare-data writes (manifest.json, shards, tokenizer/) after the inputs are read; other files stay.") var overwrite = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func run() throws {
        try runReportingErrors {
            try ThreadOption.apply(threads)
            guard !input.isEmpty else { throw ElectraError("--input needs at least one text file") }
            let out = URL(fileURLWithPath: output).standardizedFileURL
            let inputs = input.map { URL(fileURLWithPath: $0).standardizedFileURL }
            let tokDir = try ModelArgument.folder(tokenizer, option: "--tokenizer")
            // By any spelling or link: an input inside the output could be replaced with it.
            for (option, i) in inputs.map({ ("--input", $0) }) + [("--tokenizer", tokDir)] where i.isSameOrInside(out) {
                throw ElectraError("\(option) \(i.path) lies inside --output \(out.path); choose another output folder"
                                   + (option == "--tokenizer" ? " or pass the tokenizer's own folder" : ""))
            }
            let (tok, tokFiles) = try TokenizerFiles.load(tokDir, hint: "pass the folder of the tokenizer the model will use")
            var prep = DataPreparation(tokenizer: tok)
            prep.maxSeqLength = maxSeqLength
            prep.seed = seed
            prep.examplesPerShard = examplesPerShard
            prep.threads = threads
            StopSignals.install()
            prep.shouldStop = { StopSignals.requested }
            let started = Date()
            let interactive = isatty(STDERR_FILENO) != 0
            var lastPrint = Date.distantPast
            prep.progress = { bytes, examples in
                let now = Date()
                guard now.timeIntervalSince(lastPrint) > (interactive ? 0.5 : 15) else { return }
                lastPrint = now
                let mb = Double(bytes) / 1e6, s = now.timeIntervalSince(started)
                let line = String(format: "read %.1f MB  %d examples  %.1f MB/s", mb, examples, mb / max(s, 1e-9))
                FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + line : line + "\n").utf8))
            }
            var manifest: PretrainingManifest?
            try AtomicFolder.create(out, replace: overwrite, option: "--overwrite", removingStale: PretrainingManifest.isWritten) { tmp in
                manifest = try prep.run(inputs: inputs, into: tmp)
                let tokOut = tmp.appendingPathComponent("tokenizer")
                try FileManager.default.createDirectory(at: tokOut, withIntermediateDirectories: false)
                for f in tokFiles { try FileManager.default.copyItem(at: f, to: tokOut.appendingPathComponent(f.lastPathComponent)) }
            }
            if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
            let m = manifest!
            let mb = Double(m.sources.reduce(0) { $0 + $1.bytes }) / 1e6
            print(String(format: "prepared %d examples (%d tokens, %d documents, %d lines) from %.1f MB of text in %.1f s (%.1f MB/s) into %d shard(s): %@",
                         m.examples, m.tokens, m.documents, m.lines, mb, m.seconds, mb / max(m.seconds, 1e-9), m.shards.count, out.path))
            if m.invalidUtf8Lines > 0 { print("skipped \(m.invalidUtf8Lines) line(s) that are not valid UTF-8") }
            if let cut = m.droppedTokens, cut > 0 {
                print(String(format: "cut %d tokens (about %.0f%% of the text's): as in ELECTRA's build_pretraining_dataset.py, "
                                 + "an example takes whole lines up to --max-seq-length (%d) and truncates the line that overflows it; "
                                 + "one sentence a line (a blank line between documents) or a longer --max-seq-length keeps more",
                             cut, 100 * Double(cut) / Double(cut + m.tokens), m.maxSeqLength))
            }
        }
    }
}
