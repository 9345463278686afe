import ArgumentParser
import Electra
import ElectraHub
import ElectraPipelines
import ElectraTokenizers
import ElectraTraining
import Foundation

/// Runs a command body; a user's mistake (ElectraError) becomes one `error:` line on stderr
/// and exit code 1. So does any other error (a file system's, from Foundation), described
/// by the path and reason it carries; ArgumentParser's own exits pass through.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        if let problem = KernelEnvironment.problem() { throw ElectraError(problem) }
        try body()
    } catch let e as ElectraError {
        try report(e)
    } catch where !(error is ExitCode || error is CleanExit || error is ValidationError) {
        try report(ElectraError(describing: error))
    }
    DistributedJob.finish()
}

private func report(_ e: ElectraError) throws -> Never {
    if let g = DistributedJob.current as? MPIProcessGroup {
        // Under MPI the other ranks would wait for this one forever: end the whole job.
        FileHandle(fileDescriptor: DistributedJob.errorFD).write(Data("error (rank \(g.rank) of \(g.size)): \(e.message)\n".utf8))
        g.abort(code: 1)
    }
    FileHandle.standardError.write(Data("error: \(e.message)\n".utf8))
    throw ExitCode(1)
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}

enum ThreadOption {
    /// More workers than this only adds contention (and each is a thread).
    static let maximum = 256

    /// Applies `--threads` (or checks ELECTRA_NUM_THREADS when it is not given).
    static func apply(_ threads: Int?) throws {
        if let threads {
            guard (1...maximum).contains(threads) else {
                throw ElectraError("--threads must be in 1...\(maximum), got \(threads)")
            }
            Parallel.threads = threads
        } else if let s = ProcessInfo.processInfo.environment["ELECTRA_NUM_THREADS"] {
            guard let n = Int(s), (1...maximum).contains(n) else {
                throw ElectraError("ELECTRA_NUM_THREADS is '\(s)'; it must be a whole number in 1...\(maximum)")
            }
            Parallel.threads = n
        }
    }
}

/// Options given on a path that does not read them: one error naming them all, rather than
/// letting any be silently ignored. `given`: (option, given and not read here).
func refuseOptions(_ given: [(String, Bool)], on path: String) throws {
    let unused = given.filter(\.1).map(\.0)
    guard !unused.isEmpty else { return }
    throw ElectraError("\(unused.joined(separator: ", ")) \(unused.count == 1 ? "does" : "do") not apply to \(path)")
}

/// The same for a path that reads the options named in `reads`: `given` is (option, given).
func refuseOptions(_ given: [(String, Bool)], reading reads: Set<String>, on path: String) throws {
    try refuseOptions(given.map { ($0.0, $0.1 && !reads.contains($0.0)) }, on: path)
}

enum TextInput {
    /// The lines of a UTF-8 file, or of standard input for "-"; errors name the file and,
    /// for invalid UTF-8, the line.
    static func lines(_ path: String) throws -> [Substring] {
        let data: Data
        let name = path == "-" ? "standard input" : path
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
                throw ElectraError("\(path) is a folder; give a text file (or - for standard input)")
            }
            data = try InputFile.contents(of: path)  // pipes too: --file <(zcat texts.gz)
        }
        let text = try TextFile.decodeUTF8(data, file: name)
        let all = TextFile.lines(text)
        let lines = all.filter { !$0.isEmpty }
        // Outputs are one per text, so a blank line shifts every later row (embed's
        // safetensors rows, predict's lines) against the file's: say so.
        let blank = all.indices.filter { all[$0].isEmpty && $0 != all.count - 1 }.map { $0 + 1 }
        if !blank.isEmpty {
            let shown = blank.prefix(5).map(String.init).joined(separator: ", ") + (blank.count > 5 ? ", ..." : "")
            FileHandle.standardError.write(Data("note: skipped \(blank.count) blank line\(blank.count == 1 ? "" : "s") of \(name) (line\(blank.count == 1 ? "" : "s") \(shown)); the outputs follow the other lines in order\n".utf8))
        }
        return lines
    }
}

/// The `--max-length` of a command that runs a model: default min(128, the model's
/// max_position_embeddings); a larger value than the model has positions is an error.
func checkedMaxLength(_ requested: Int?, config: ElectraConfig) throws -> Int {
    guard let n = requested else { return min(128, config.maxPositionEmbeddings) }
    guard n > 2 else { throw ElectraError("--max-length must be above 2 (room for [CLS] and [SEP]), got \(n)") }
    guard n <= config.maxPositionEmbeddings else {
        throw ElectraError("--max-length \(n) exceeds the model's max_position_embeddings (\(config.maxPositionEmbeddings))")
    }
    return n
}

enum DTypeOption {
    static let help = "fp32 (default), int8 or bf16, for the encoder's linear layers (the rest stays fp32). int8: quantized dynamically (weights per output channel, activations per row); faster than fp32 on AVX512-VNNI (about 2x), AVX-VNNI and AVX2 (vpmaddwd; about 1.3-1.5x on a Zen 3); on the portable loop (no AVX2) it saves weight memory, not time, and says so. bf16: weights and activations rounded to bf16, products accumulated in fp32, on AMX through oneDNN; on other CPUs (AVX512-BF16 without AMX included) the products run in fp32, since bf16 measured slower there, with a note; ELECTRA_BF16=portable runs bf16's rounding anyway, ELECTRA_BF16=onednn oneDNN's AVX512-BF16 products."

    /// The format to run: the request resolved for this CPU (`InferenceDType.resolved`), with
    /// the note when it differs or saves no time. `alsoAccepted` names further values the
    /// command takes itself (bench's "both").
    static func parse(_ value: String, alsoAccepted: String? = nil) throws -> InferenceDType {
        try parseRequested(value, alsoAccepted: alsoAccepted).resolved
    }

    /// The format as asked for (bench labels its rows with it), after the same notes.
    static func parseRequested(_ value: String, alsoAccepted: String? = nil) throws -> InferenceDType {
        guard let d = InferenceDType(rawValue: value) else {
            throw ElectraError("--dtype must be fp32, int8\(alsoAccepted.map { ", bf16 or \($0)" } ?? " or bf16"), got '\(value)'")
        }
        if d == .int8, let w = Int8Kernel.current.slowerWarning { warn(w) }
        if d == .bf16, let w = BF16Kernel.requestNote { warn(w) }
        return d
    }
}

/// `--dtype` of the training commands.
enum TrainingDTypeOption {
    static let help = "fp32 (default) or bf16: mixed precision, the encoder's products in bf16 forward and backward with fp32 accumulation; fp32 master weights, gradients, optimizer state and checkpoints. On AMX through oneDNN; on other CPUs (AVX512-BF16 without AMX included) the products run in fp32, since bf16 measured slower there, with a note; ELECTRA_BF16=portable runs bf16's rounding anyway, ELECTRA_BF16=onednn oneDNN's AVX512-BF16 products."

    /// The format to train in, resolved for this CPU as `DTypeOption.parse` does.
    static func parse(_ value: String) throws -> InferenceDType {
        guard value == "fp32" || value == "bf16" else { throw ElectraError("--dtype for training must be fp32 or bf16, got '\(value)'") }
        if value == "bf16", let w = BF16Kernel.requestNote { warn(w) }
        return InferenceDType(rawValue: value)!.resolved
    }
}

/// A fine-tuned task model and its tokenizer for evaluate/predict: refused when the head's
/// weights (`headPrefix`) are missing, set to the command's `--dtype`.
func loadFineTuned<Model: ElectraHeadModel>(_ type: Model.Type, _ model: String, headPrefix: String, task: String) throws
    -> (Model, ElectraTokenizer) {
    let dir = URL(fileURLWithPath: model)
    let (m, report) = try Model.load(from: dir)
    if report.missing.contains(where: { $0.hasPrefix(headPrefix) }) {
        throw ElectraError("\(dir.path) holds no \(task) head (\(headPrefix) weights missing); fine-tune one with --task \(task)")
    }
    m.setInferenceDType(RunOptions.loadedDType)
    return (m, try TokenizerFiles.load(dir, hint: "the model folder must hold its tokenizer files").0)
}

/// How a model-running command runs: worker threads and the number format.
struct RunOptions: ParsableArguments {
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: ArgumentHelp(stringLiteral: DTypeOption.help)) var dtype = "fp32"

    /// Applies the threads; returns the dtype, which the task commands' loaders also apply
    /// (`RunOptions.loadedDType`).
    func apply() throws -> InferenceDType {
        try ThreadOption.apply(threads)
        let d = try DTypeOption.parse(dtype)
        RunOptions.loadedDType = d
        return d
    }

    /// The dtype of this process's command, for the loaders of the task pipelines (one
    /// command runs per process).
    nonisolated(unsafe) static var loadedDType = InferenceDType.fp32

    /// Library pipeline options for a command: its dtype and batch size; progress on a terminal.
    func pipelineOptions(_ dtype: InferenceDType, batchSize: Int) throws -> PipelineOptions {
        guard batchSize > 0 else { throw ElectraError("--batch-size must be positive, got \(batchSize)") }
        return PipelineOptions(dtype: dtype, batchSize: batchSize)
    }
}

/// A progress line on stderr for a long batch job (BatchProgress), as a library callback.
func progressLine(_ unit: String) -> (_ done: Int, _ total: Int) -> Void {
    var line: BatchProgress?
    return { done, total in
        if line == nil { line = BatchProgress(total: total, unit: unit) }
        line!.update(done)
    }
}

/// What a model or tokenizer option names: a local folder or file when one exists there, else a
/// Hub name (org/name or org/name@revision) resolved into the Hugging Face cache.
enum ModelArgument {
    static func folder(_ value: String, option: String) throws -> URL {
        let local = URL(fileURLWithPath: value)
        if FileManager.default.fileExists(atPath: local.path) { return local }
        guard let name = HubName(value), !value.hasPrefix("./"), !value.hasPrefix("../") else { return local }
        let bar = DownloadProgress()
        do {
            return try HubClient(progress: { file, done, total in bar.update(file, done, total) }).snapshotBlocking(name)
        } catch let e as ElectraError {
            bar.finish()
            throw ElectraError("\(option) \(value) is no local folder and the Hub gave no model: \(e.message)")
        }
    }
}

/// A download's progress bar on a terminal's stderr (nothing when stderr is a file).
final class DownloadProgress: @unchecked Sendable {
    let interactive = isatty(STDERR_FILENO) != 0
    let lock = NSLock()
    var last = Date.distantPast, shown = false

    func update(_ file: String, _ done: Int64, _ total: Int64?) {
        guard interactive else { return }
        lock.lock(); defer { lock.unlock() }
        let finished = total.map { done >= $0 } ?? false
        guard finished || Date().timeIntervalSince(last) > 0.2 else { return }
        last = Date()
        let mb = { (b: Int64) in String(format: "%.1f", Double(b) / 1_048_576) }
        var line = "downloading \(file): \(mb(done)) MB"
        if let total, total > 0 {
            let width = 24, filled = Int(Double(width) * Double(done) / Double(total))
            line += " of \(mb(total)) MB [" + String(repeating: "#", count: min(filled, width)) + String(repeating: ".", count: max(0, width - filled)) + "]"
        }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + (finished ? "\n" : "")).utf8))
        shown = !finished
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if shown && interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        shown = false
    }
}

/// `--distributed`, and what a training command does differently as one rank of an MPI job:
/// rank 0 alone touches the output folder and prints; an error on any rank ends the job.
struct DistributedOptions: ParsableArguments {
    @Flag(help: "Join an MPI job as one data-parallel rank (implied under mpirun; see docs/pretraining.md, \"Several processes and machines\").")
    var distributed = false

    /// The job this process belongs to (one process when not under MPI).
    func join() throws -> any ProcessGroup { try DistributedJob.join(distributed: distributed) }
}

extension DistributedJob {
    /// Joins the MPI job when `distributed` or launched by mpirun (else one process).
    static func join(distributed: Bool) throws -> any ProcessGroup {
        let g = try ProcessGroups.make(distributed: distributed)
        DistributedJob.current = g
        if !g.isRoot && ProcessInfo.processInfo.environment["ELECTRA_ALL_RANKS_PRINT"] == nil {
            DistributedJob.quietThisRank()
        }
        return g
    }
}

enum DistributedJob {
    /// The MPI job, once joined: errors abort it, a normal end finalizes it.
    nonisolated(unsafe) static var current: (any ProcessGroup)?
    static var group: any ProcessGroup { current ?? SingleProcess() }

    /// Rank 0 runs `body` (output checks, data preparation) while the others wait for it.
    static func rootFirst(_ group: any ProcessGroup, _ body: () throws -> Void) rethrows {
        if group.isRoot { try body() }
        group.barrier()
    }

    /// Ranks other than 0 print nothing (rank 0 speaks for the job); their errors still reach
    /// stderr through a copy of it made here.
    static func quietThisRank() {
        errorFD = dup(2)
        let null = open("/dev/null", O_WRONLY)
        guard null >= 0 else { return }
        fflush(nil)  // all streams
        dup2(null, 1)
        dup2(null, 2)
        close(null)
    }
    nonisolated(unsafe) static var errorFD: Int32 = 2

    /// Ends an MPI job normally (every rank calls it).
    static func finish() {
        if let g = current as? MPIProcessGroup { g.finalize() }
        current = nil
    }
}

/// An output file that is one of the inputs (the same file, by any path or link), or a file
/// of the model folder, would be replaced with the results: refused before anything runs.
/// Devices and pipes (`--output /dev/stdout`) are never inputs' files and pass.
func refuseOutputFileOverInputs(_ output: String, option: String = "--output", _ inputs: [(option: String, path: String)],
                                model: @autoclosure () throws -> URL? = nil) throws {
    var out = stat()
    guard stat(output, &out) == 0, out.st_mode & S_IFMT == S_IFREG else { return }  // not there yet: no clash
    var named = inputs
    // The model's folder only now (a Hub name costs a lookup), the files of its snapshot included.
    if let model = try model(), let files = try? FileManager.default.contentsOfDirectory(atPath: model.path) {
        named += files.map { (option: "--model", path: model.appendingPathComponent($0).path) }
    }
    for (name, path) in named {
        var inp = stat()
        if stat(path, &inp) == 0, inp.st_dev == out.st_dev, inp.st_ino == out.st_ino {
            throw ElectraError("\(option) \(output) is the \(name) input \(path); choose another output file")
        }
    }
}
