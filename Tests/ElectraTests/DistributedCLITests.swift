import Foundation
import Testing

@testable import Electra

/// `mpirun -np 2 electra pretrain|finetune` against one process accumulating 2 micro-batches:
/// the same weights after 10 steps with dropout on; a rank that fails ends the job. Skipped
/// (with the reason) where Open MPI's mpirun is not installed.
extension CLITests {
    static let mpirun: URL? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun", "/opt/homebrew/bin/mpirun"]
        .map(URL.init(fileURLWithPath:)).first { FileManager.default.isExecutableFile(atPath: $0.path) }

    /// mpirun's options for these tests: root allowed and cores oversubscribed (CI runs as root
    /// on 2 cores), TCP on loopback.
    static let mpirunFlags = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,tcp",
                              "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"]

    /// `mpirun -np N electra args` started in the background: the process and its stderr.
    func startMPI(_ n: Int, _ args: [String]) throws -> (process: Process, stderr: Pipe) {
        let p = Process()
        p.executableURL = Self.mpirun!
        p.arguments = Self.mpirunFlags + ["-np", "\(n)", Self.binary.path] + args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return (p, err)
    }

    /// `mpirun -np N electra args`, to its end.
    func mpi(_ n: Int, _ args: [String]) throws -> Result {
        let p = Process()
        p.executableURL = Self.mpirun!
        p.arguments = Self.mpirunFlags + ["-np", "\(n)", Self.binary.path] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func maxWeightDifference(_ a: URL, _ b: URL) throws -> Float {
        let x = try SafeTensorsFile(url: a), y = try SafeTensorsFile(url: b)
        #expect(Set(x.names) == Set(y.names))
        var worst: Float = 0
        for n in x.names { worst = max(worst, maxAbsDiff(try x.floatTensor(n), try y.floatTensor(n))) }
        return worst
    }

    @Test(.enabled(if: mpirun != nil, "Open MPI's mpirun is not installed (apt-get install openmpi-bin)"))
    func pretrainOnTwoRanksEqualsOneProcessAccumulatingTwo() throws {
        let w = try pretrainWorkspace()
        let data = tmp.appendingPathComponent("data")
        #expect(try run(["prepare-data", "--tokenizer", w.tokenizer.path, "--input", w.corpus.path, "--output", data.path, "--max-seq-length", "32"]).status == 0)
        let common = ["pretrain", "--data", data.path, "--preset", "tiny", "--batch-size", "4", "--max-steps", "10", "--save-steps", "5",
                      "--threads", "1", "--dropout", "0.1", "--generator-warmup", "3", "--discriminator-ramp", "2", "--log-steps", "1"]
        let single = tmp.appendingPathComponent("single"), ranks = tmp.appendingPathComponent("ranks")
        let one = try run(common + ["--output", single.path, "--gradient-accumulation-steps", "2"])
        #expect(one.status == 0, "\(one.stderr)")
        let two = try mpi(2, common + ["--output", ranks.path])
        #expect(two.status == 0, "\(two.stderr)")
        #expect(two.stderr.contains("over 2 ranks") && two.stderr.contains("data-parallel over 2 ranks"), "\(two.stderr)")
        // Rank 0 alone speaks: one summary.
        #expect(two.stdout.components(separatedBy: "Pretrained (rtd)").count == 2, "\(two.stdout)")
        for folder in ["discriminator", "generator"] {
            let d = try maxWeightDifference(single.appendingPathComponent("\(folder)/model.safetensors"), ranks.appendingPathComponent("\(folder)/model.safetensors"))
            #expect(d <= 1e-6, "\(folder): \(d)")
        }
        // The logged loss is the job's, not rank 0's half.
        let l1 = MetricsLogLines.losses(single.appendingPathComponent("metrics.jsonl"))
        let l2 = MetricsLogLines.losses(ranks.appendingPathComponent("metrics.jsonl"))
        #expect(l1.count == 10 && l1.count == l2.count)
        for (a, b) in zip(l1, l2) { #expect(abs(a - b) <= 1e-4 * max(1, abs(a))) }

        // A resume on one process keeps the global batch (2 x 1 = 1 x 2) and continues; another is refused.
        let more = try run(common.map { $0 == "10" ? "12" : $0 } + ["--output", ranks.path, "--gradient-accumulation-steps", "1", "--resume"])
        #expect(more.status != 0 && more.stderr.contains("micro-batches per step"), "\(more.stderr)")
    }

    @Test(.enabled(if: mpirun != nil, "Open MPI's mpirun is not installed (apt-get install openmpi-bin)"))
    func finetuneOnTwoRanksEqualsOneProcessAccumulatingTwo() throws {
        let w = try workspace()
        let common = ["finetune", "--model", w.model.path, "--train", w.train.path, "--batch-size", "2", "--max-steps", "10",
                      "--threads", "1", "--dropout", "0.1", "--epochs", "5"]
        try expectTwoRanksEqualOneProcess(common, accumulating: 1)
    }

    /// `finetune` on 2 ranks accumulating A each ends with the weights of one process
    /// accumulating 2A.
    func expectTwoRanksEqualOneProcess(_ common: [String], accumulating a: Int) throws {
        let single = tmp.appendingPathComponent("single"), ranks = tmp.appendingPathComponent("ranks")
        let one = try run(common + ["--output", single.path, "--gradient-accumulation-steps", "\(2 * a)"])
        #expect(one.status == 0, "\(one.stderr)")
        let two = try mpi(2, common + ["--output", ranks.path, "--gradient-accumulation-steps", "\(a)"])
        #expect(two.status == 0, "\(two.stderr)")
        let d = try maxWeightDifference(single.appendingPathComponent("model.safetensors"), ranks.appendingPathComponent("model.safetensors"))
        #expect(d <= 1e-6, "\(d)")
    }

    /// An epoch's last step with fewer micro-batches than rank 1's first one (10 rows, 2 per
    /// micro-batch, 2 ranks x 2 micro-batches: steps of 8 and 2 rows): rank 1 computes none
    /// and still joins the sums. It used to stop on an invalid range (lower bound above upper).
    @Test(.enabled(if: mpirun != nil, "Open MPI's mpirun is not installed (apt-get install openmpi-bin)"))
    func aLastStepShorterThanARanksShareRunsOnTwoRanks() throws {
        let w = try workspace()
        let lines = try String(contentsOf: w.train, encoding: .utf8).split(separator: "\n")
        let train = tmp.appendingPathComponent("train10.tsv")
        try (lines.prefix(11).joined(separator: "\n") + "\n").write(to: train, atomically: true, encoding: .utf8)
        let common = ["finetune", "--model", w.model.path, "--train", train.path, "--batch-size", "2", "--epochs", "2",
                      "--threads", "1", "--dropout", "0.1"]
        try expectTwoRanksEqualOneProcess(common, accumulating: 2)
    }

    /// Each rank reads its own host's files: a rank whose data differs from rank 0's (here
    /// 10 rows against 12, through mpirun's per-rank command lines) ends the job saying so. It
    /// used to train on other rows without a word.
    @Test(.enabled(if: mpirun != nil, "Open MPI's mpirun is not installed (apt-get install openmpi-bin)"))
    func ranksWithOtherDataEndTheJob() throws {
        let w = try workspace()
        let lines = try String(contentsOf: w.train, encoding: .utf8).split(separator: "\n")
        let train10 = tmp.appendingPathComponent("other").appendingPathComponent(w.train.lastPathComponent)
        try FileManager.default.createDirectory(at: train10.deletingLastPathComponent(), withIntermediateDirectories: true)
        try (lines.prefix(11).joined(separator: "\n") + "\n").write(to: train10, atomically: true, encoding: .utf8)
        func args(_ train: URL) -> [String] {
            [Self.binary.path, "finetune", "--model", w.model.path, "--train", train.path, "--batch-size", "2", "--max-steps", "4",
             "--threads", "1", "--output", tmp.appendingPathComponent("out").path]
        }
        let p = Process()
        p.executableURL = Self.mpirun!
        p.arguments = Self.mpirunFlags + ["-np", "1"] + args(w.train) + [":", "-np", "1"] + args(train10)
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        #expect(stderr.contains("rank 1 reads 10 training examples, rank 0 reads 12"), "\(stderr)")
    }

    @Test(.enabled(if: mpirun != nil, "Open MPI's mpirun is not installed (apt-get install openmpi-bin)"))
    func anErrorOnARankEndsTheJob() throws {
        let w = try workspace()
        // Raw text under MPI is refused on every rank: the job ends, non-zero, with the message.
        let r = try mpi(2, ["pretrain", "--data", w.train.path, "--tokenizer", w.model.path, "--output", tmp.appendingPathComponent("x").path,
                            "--preset", "tiny", "--max-steps", "2", "--threads", "1"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("reads one prepared folder on every rank"), "\(r.stderr)")
        // A data folder missing on a host is named as such.
        let missing = try mpi(2, ["pretrain", "--data", tmp.appendingPathComponent("no-data").path, "--output", tmp.appendingPathComponent("y").path,
                                  "--preset", "tiny", "--max-steps", "2", "--threads", "1"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no-data does not exist on this rank's host"), "\(missing.stderr)")
    }
}

extension CLITests {
    /// The process of `rank` of a running job whose command line contains `marker` (Linux /proc).
    func rankProcess(_ rank: Int, marker: String) -> Int32? {
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap(Int32.init) ?? [] {
            guard let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  String(decoding: cmd, as: UTF8.self).contains(marker),
                  let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let vars = env.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if vars.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }

    /// A rank killed mid-run ends the job quickly and non-zero; the last checkpoint is intact
    /// and a resume on one process accumulating 2 (the same global batch) ends where the
    /// uninterrupted run does.
    @Test(.enabled(if: mpirun != nil && FileManager.default.fileExists(atPath: "/proc/self/environ"), "needs Open MPI's mpirun and Linux /proc"))
    func aKilledRankEndsTheJobAndTheCheckpointResumes() throws {
        let w = try pretrainWorkspace()
        let data = tmp.appendingPathComponent("data")
        #expect(try run(["prepare-data", "--tokenizer", w.tokenizer.path, "--input", w.corpus.path, "--output", data.path, "--max-seq-length", "32"]).status == 0)
        let common = ["pretrain", "--data", data.path, "--preset", "tiny", "--batch-size", "4", "--max-steps", "16", "--save-steps", "2",
                      "--threads", "1", "--dropout", "0.1", "--save-total-limit", "100"]
        let killed = tmp.appendingPathComponent("killed-\(UUID().uuidString)")
        let (p, err) = try startMPI(2, common + ["--output", killed.path])
        // Once checkpoint-2 is there, kill rank 1.
        var victim: Int32?
        for _ in 0..<3000 where victim == nil {
            if FileManager.default.fileExists(atPath: killed.appendingPathComponent("checkpoint-2").path) {
                victim = rankProcess(1, marker: killed.lastPathComponent)
            } else {
                usleep(5000)
            }
        }
        #expect(victim != nil)
        if let victim { kill(victim, SIGKILL) }
        let killedAt = Date()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(Date().timeIntervalSince(killedAt) < 15)
        #expect(p.terminationStatus != 0)
        let message = String(decoding: stderr, as: UTF8.self)
        #expect(message.contains("signal 9") || message.contains("Killed") || message.contains("exited"), "\(message)")

        // The newest checkpoint resumes on one process with the same global batch, exactly.
        let steps = try FileManager.default.contentsOfDirectory(atPath: killed.path).compactMap { $0.hasPrefix("checkpoint-") ? Int($0.dropFirst(11)) : nil }
        let last = try #require(steps.max())
        #expect(last < 16, "the run ended before the kill")
        let resumed = try run(common + ["--output", killed.path, "--resume", "--gradient-accumulation-steps", "2"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let straight = tmp.appendingPathComponent("straight")
        #expect(try run(common + ["--output", straight.path, "--gradient-accumulation-steps", "2"]).status == 0)
        for folder in ["discriminator", "generator"] {
            let d = try maxWeightDifference(straight.appendingPathComponent("\(folder)/model.safetensors"), killed.appendingPathComponent("\(folder)/model.safetensors"))
            #expect(d <= 1e-6, "\(folder): \(d)")
        }
    }

    /// SIGTERM to rank 1 alone (a scheduler's grace signal can reach one process) stops the
    /// job at the next step with a whole checkpoint: it used to be ignored (rank 0's flag was
    /// every rank's), and a stop on all ranks let the others end the job while rank 0 saved.
    @Test(.enabled(if: mpirun != nil && FileManager.default.fileExists(atPath: "/proc/self/environ"), "needs Open MPI's mpirun and Linux /proc"))
    func aSignalToOneRankStopsTheJobWithACheckpoint() throws {
        let w = try pretrainWorkspace()
        let data = tmp.appendingPathComponent("data")
        #expect(try run(["prepare-data", "--tokenizer", w.tokenizer.path, "--input", w.corpus.path, "--output", data.path, "--max-seq-length", "32"]).status == 0)
        let out = tmp.appendingPathComponent("signalled-\(UUID().uuidString)")
        let (p, err) = try startMPI(2, ["pretrain", "--data", data.path, "--preset", "tiny", "--batch-size", "4", "--max-steps", "3000",
                                        "--threads", "1", "--log-steps", "1", "--output", out.path])
        // Once a few steps are logged, SIGTERM to rank 1 only.
        var victim: Int32?
        for _ in 0..<3000 where victim == nil {
            let log = (try? String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)) ?? ""
            if log.components(separatedBy: "\"train\"").count > 3 { victim = rankProcess(1, marker: out.lastPathComponent) } else { usleep(5000) }
        }
        #expect(victim != nil)
        if let victim { kill(victim, SIGTERM) }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        #expect(stderr.contains("stopped by a signal"), "\(stderr)")
        let steps = try FileManager.default.contentsOfDirectory(atPath: out.path).compactMap { $0.hasPrefix("checkpoint-") ? Int($0.dropFirst(11)) : nil }
        let last = try #require(steps.max(), "\(stderr)")
        #expect(last < 3000, "the run ended before the signal")
        #expect(stderr.contains("checkpoint-\(last) in"), "\(stderr)")
        for file in ["trainer_state.json", "optimizer.safetensors", "discriminator/model.safetensors", "generator/model.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint-\(last)/\(file)").path), "\(file)")
        }
    }
}

extension CLITests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Whether this machine can make network namespaces (root, iproute2).
    static let canMakeNamespaces: Bool = {
        guard mpirun != nil, getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip") else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ip netns add electra-probe && ip netns del electra-probe"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    func script(_ args: [String]) throws -> Result {
        let p = Process()
        p.executableURL = Self.repoRoot.appendingPathComponent("scripts/mpi/netns-cluster.sh")
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Two "hosts" (network namespaces joined by veth pairs and a bridge, Open MPI over TCP
    /// between them): fine-tuning ends on the weights of one process accumulating 2.
    @Test(.enabled(if: canMakeNamespaces, "needs root, iproute2 (ip netns) and Open MPI's mpirun"))
    func finetuneAcrossTwoNamespaceHostsEqualsOneProcess() throws {
        _ = try script(["down", "2"])
        let up = try script(["up", "2"])
        #expect(up.status == 0, "\(up.stderr)")
        defer { _ = try? script(["down", "2"]) }
        let w = try workspace()
        let common = ["finetune", "--model", w.model.path, "--train", w.train.path, "--batch-size", "2", "--max-steps", "6",
                      "--threads", "1", "--dropout", "0.1", "--epochs", "5"]
        let single = tmp.appendingPathComponent("single"), hosts = tmp.appendingPathComponent("hosts")
        #expect(try run(common + ["--output", single.path, "--gradient-accumulation-steps", "2"]).status == 0)
        let r = try script(["run", "2", Self.binary.path] + common + ["--output", hosts.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("over 2 ranks"), "\(r.stderr)")
        let d = try maxWeightDifference(single.appendingPathComponent("model.safetensors"), hosts.appendingPathComponent("model.safetensors"))
        #expect(d <= 1e-6, "\(d)")
    }
}

extension CLITests {
    /// Without a usable libmpi, or with a bad option, a command that needs MPI says so and
    /// exits non-zero (no MPI needed to run this).
    @Test func mpiErrorsAreClear() throws {
        let missing = try run(["bench", "--allreduce", "1024"], env: ["ELECTRA_MPI_LIBRARY": "/nonexistent/libmpi.so"])
        #expect(missing.status == 1 && missing.stderr.contains("needs Open MPI's libmpi") && missing.stderr.contains("/nonexistent/libmpi.so"), "\(missing.stderr)")
        let zero = try run(["bench", "--allreduce", "0"])
        #expect(zero.status == 1 && zero.stderr.contains("--allreduce sizes must be positive"), "\(zero.stderr)")
    }
}

/// The training losses of a metrics.jsonl, in order.
enum MetricsLogLines {
    static func losses(_ url: URL) -> [Double] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line -> Double? in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  obj["kind"] as? String == "train" else { return nil }
            return obj["loss"] as? Double
        }
    }
}
