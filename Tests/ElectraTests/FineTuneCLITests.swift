import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// finetune / evaluate / predict as a new user meets them: output folders that must never
/// cost an input, range checks, resume checks, no partial output after a failure or a kill,
/// and the messages.
extension CLITests {
    /// A copy of the example model (so that losing it would show) and a small SST-2-style set.
    func workspace() throws -> (model: URL, train: URL, dev: URL) {
        let model = tmp.appendingPathComponent("model")
        try FileManager.default.copyItem(at: Self.example, to: model)
        let train = tmp.appendingPathComponent("train.tsv"), dev = tmp.appendingPathComponent("dev.tsv")
        var lines = "sentence\tlabel\n"
        for i in 0..<12 { lines += i % 2 == 0 ? "a fine film number \(i)\t1\n" : "a dull mess number \(i)\t0\n" }
        try lines.write(to: train, atomically: true, encoding: .utf8)
        try "sentence\tlabel\ngood\t1\nbad\t0\n".write(to: dev, atomically: true, encoding: .utf8)
        return (model, train, dev)
    }

    func finetuneArgs(_ w: (model: URL, train: URL, dev: URL), _ out: URL) -> [String] {
        ["finetune", "--model", w.model.path, "--train", w.train.path, "--validation", w.dev.path, "--output", out.path,
         "--batch-size", "4", "--epochs", "2", "--threads", "1"]
    }

    /// A folder the system refuses to create (here under /proc, refused even to root) is an
    /// `error:` line naming it and the reason, exit 1: Foundation's errors used to reach the
    /// user as NSError dumps, past the MPI abort.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self"), "needs Linux /proc"))
    func anOutputTheSystemRefusesIsAClearError() throws {
        let w = try workspace()
        let r = try run(["finetune", "--model", w.model.path, "--train", w.train.path, "--output", "/proc/electra-no/out",
                         "--max-steps", "1", "--threads", "1"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("error: cannot create the folder /proc/electra-no/out: /proc/electra-no: No such file or directory"), "\(r.stderr)")
        #expect(!r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("Error Domain"), "\(r.stderr)")
    }

    @Test func outputFolderNeverCostsAnInput() throws {
        let w = try workspace()
        // The model folder as the output, even with --overwrite-output: refused, model intact.
        let same = try run(finetuneArgs(w, w.model) + ["--overwrite-output"])
        #expect(same.status != 0 && same.stderr.contains("is the --model input"), "\(same.stderr)")
        #expect(FileManager.default.fileExists(atPath: w.model.appendingPathComponent("model.safetensors").path))
        // A plain file at the output path: refused, untouched.
        let file = tmp.appendingPathComponent("notes.txt")
        try "keep me".write(to: file, atomically: true, encoding: .utf8)
        let onFile = try run(finetuneArgs(w, file) + ["--overwrite-output"])
        #expect(onFile.status != 0 && onFile.stderr.contains("is a file, not a folder"), "\(onFile.stderr)")
        #expect(try String(contentsOf: file, encoding: .utf8) == "keep me")

        // A previous run with an unrelated file beside it: --overwrite-output replaces the run
        // and keeps the file; an input inside a checkpoint folder of it is refused.
        let out = tmp.appendingPathComponent("run")
        #expect(try run(finetuneArgs(w, out)).status == 0)
        try "mine".write(to: out.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: out.appendingPathComponent("checkpoint-99"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: out.appendingPathComponent("checkpoint-best"), withIntermediateDirectories: true)  // not a run's name
        let inside = out.appendingPathComponent("checkpoint-6/train.tsv")
        try FileManager.default.copyItem(at: w.train, to: inside)
        var args = finetuneArgs(w, out) + ["--overwrite-output"]
        args[args.firstIndex(of: w.train.path)!] = inside.path
        let overInput = try run(args)
        #expect(overInput.status != 0 && overInput.stderr.contains("would overwrite or remove the --train input"), "\(overInput.stderr)")
        #expect(FileManager.default.fileExists(atPath: inside.path))
        let again = try run(finetuneArgs(w, out) + ["--overwrite-output", "--learning-rate", "2e-4"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8) == "mine")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint-99").path))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint-best").path))
        // Inputs that fail to load leave the previous run as it was.
        let broken = try run(finetuneArgs(w, out) + ["--overwrite-output", "--train", tmp.appendingPathComponent("missing.tsv").path])
        #expect(broken.status != 0 && FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint-6").path))
    }

    @Test func resumeIsCheckedAgainstTheCheckpoint() throws {
        let w = try workspace()
        let out = tmp.appendingPathComponent("resume")
        let none = try run(finetuneArgs(w, out) + ["--resume"])
        #expect(none.status != 0 && none.stderr.contains("holds no checkpoint-N folder"), "\(none.stderr)")
        #expect(try run(finetuneArgs(w, out)).status == 0)
        let changed = try run(finetuneArgs(w, out) + ["--resume", "--learning-rate", "3e-4"])
        #expect(changed.status != 0 && changed.stderr.contains("was made with learning_rate 0.0001, this run has 0.0003"), "\(changed.stderr)")
        let otherData = tmp.appendingPathComponent("other.tsv")
        try "sentence\tlabel\nyes\t1\nno\t0\n".write(to: otherData, atomically: true, encoding: .utf8)
        var args = finetuneArgs(w, out) + ["--resume"]
        args[args.firstIndex(of: w.train.path)!] = otherData.path
        let data = try run(args)
        #expect(data.status != 0 && data.stderr.contains("--resume: checkpoint-6 was made with"), "\(data.stderr)")
    }

    @Test func outOfRangeOptionsAreClearErrors() throws {
        let w = try workspace()
        let out = tmp.appendingPathComponent("never").path
        let base = ["finetune", "--model", w.model.path, "--train", w.train.path, "--output", out]
        let cases: [([String], [String: String], String)] = [
            (base + ["--dropout", "2"], [:], "--dropout must be in [0, 1), got 2"),
            (base + ["--learning-rate=-1"], [:], "--learning-rate must be a positive number"),
            (base + ["--warmup", "5"], [:], "--warmup is a fraction of all steps in [0, 1]"),
            (base + ["--max-steps", "0"], [:], "--max-steps must be positive"),
            (base + ["--threads", "0"], [:], "--threads must be in 1...256, got 0"),
            (base + ["--threads", "100000"], [:], "--threads must be in 1...256, got 100000"),
            (base, ["ELECTRA_NUM_THREADS": "abc"], "ELECTRA_NUM_THREADS is 'abc'"),
            (base + ["--max-length", "9999"], [:], "--max-length 9999 exceeds the model's max_position_embeddings (128)"),
            (base + ["--early-stopping-patience", "2"], [:], "needs --metric-for-best"),
            (base + ["--reinit-layers=-1"], [:], "--reinit-layers must be >= 0, got -1"),
            (base + ["--reinit-layers", "99"], [:], "--reinit-layers: cannot re-initialise 99 layers: the model has"),
            (["evaluate", "--model", w.model.path, "--data", w.dev.path, "--batch-size", "0"], [:], "--batch-size must be positive"),
            (["predict", "--model", w.model.path, "--max-length", "9999", "text"], [:], "--max-length 9999 exceeds"),
            (["bench", "--shapes", "small:1x9999"], [:], "length 9999 exceeds small's max_position_embeddings (512)"),
            (["finetune", "--model", w.model.path], [:], "error: Missing expected argument"),
        ]
        for (args, env, message) in cases {
            let r = try run(args, env: env)
            #expect(r.status != 0, "\(args)")
            let last = r.stderr.split(separator: "\n").last { $0.hasPrefix("error") } ?? ""
            #expect(last.hasPrefix("error: ") && !r.stderr.contains("Error:") && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func predictReadsStdinWritesJSONAndBatches() throws {
        let w = try workspace()
        let out = tmp.appendingPathComponent("clf")
        #expect(try run(finetuneArgs(w, out)).status == 0)
        let text = Data("a fine film\na dull mess\tmaybe a pair\nlovely\n".utf8)
        let one = try run(["predict", "--model", out.path, "--file", "-", "--json", "--top-k", "all", "--batch-size", "1"], stdin: text)
        let three = try run(["predict", "--model", out.path, "--file", "-", "--json", "--top-k", "all", "--batch-size", "3"], stdin: text)
        #expect(one.status == 0 && three.status == 0, "\(one.stderr) \(three.stderr)")
        // HF pipeline() values: with top_k, a list of {label, score} per line, best first.
        let rows = try one.stdout.split(separator: "\n").map { try JSONValue.parse(Data($0.utf8), source: "predict").arrayValue! }
        let batched = try three.stdout.split(separator: "\n").map { try JSONValue.parse(Data($0.utf8), source: "predict").arrayValue! }
        #expect(rows.count == 3 && rows.allSatisfy { $0.count == 2 })
        for (a, b) in zip(rows, batched) {
            let la = a.map { $0.objectValue!["label"]!.stringValue! }, lb = b.map { $0.objectValue!["label"]!.stringValue! }
            #expect(la == lb && Set(la) == ["0", "1"])
            let sa = a.map { $0.objectValue!["score"]!.doubleValue! }, sb = b.map { $0.objectValue!["score"]!.doubleValue! }
            #expect(sa[0] >= sa[1] && abs(sa[0] + sa[1] - 1) < 1e-5)
            for (x, y) in zip(sa, sb) { #expect(abs(x - y) < 1e-5) }
        }
        // Without --top-k: HF's default, the best label in a list of one.
        let best = try run(["predict", "--model", out.path, "--json", "a fine film"])
        let value = try JSONValue.parse(Data(best.stdout.utf8), source: "predict").arrayValue!
        #expect(value.count == 1 && value[0].objectValue!["label"]!.stringValue! == rows[0][0].objectValue!["label"]!.stringValue!)
        // The base example is no classifier (a discriminator): predict refuses it.
        let raw = try run(["predict", "--model", w.model.path, "some text"])
        #expect(raw.status != 0 && raw.stderr.contains("needs an ElectraForSequenceClassification folder"), "\(raw.stderr)")
        let missing = try run(["predict", "--model", out.path, "--file", tmp.appendingPathComponent("none.txt").path])
        #expect(missing.status != 0 && missing.stderr.contains("none.txt does not exist"), "\(missing.stderr)")
    }

    @Test func dataMistakesAreNamed() throws {
        let w = try workspace()
        let out = tmp.appendingPathComponent("data").path
        let badUTF8 = tmp.appendingPathComponent("bad.tsv")
        try (Data("sentence\tlabel\nfine\t1\nbro".utf8) + Data([0xC3, 0x28]) + Data("ken\t0\n".utf8)).write(to: badUTF8)
        let r1 = try run(["finetune", "--model", w.model.path, "--train", badUTF8.path, "--output", out])
        #expect(r1.status != 0 && r1.stderr.contains("bad.tsv:3: invalid UTF-8 at byte column 4"), "\(r1.stderr)")
        let typo = tmp.appendingPathComponent("typo.tsv")
        try "sentence\tlabel\na\t1\nb\t0\nc\t1\nd\tl\n".write(to: typo, atomically: true, encoding: .utf8)
        let r2 = try run(["finetune", "--model", w.model.path, "--train", typo.path, "--output", out])
        #expect(r2.status != 0 && r2.stderr.contains("typo.tsv:5: label 'l' is not a number"), "\(r2.stderr)")
        // A classifier fine-tuned on single sentences (SST-2 layout) is not evaluated on MRPC pairs.
        let clf = tmp.appendingPathComponent("sst")
        #expect(try run(finetuneArgs(w, clf)).status == 0)
        let mrpc = tmp.appendingPathComponent("mrpc.tsv")
        try "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA b.\tA c.\n0\t3\t4\tX.\tY.\n".write(to: mrpc, atomically: true, encoding: .utf8)
        let r3 = try run(["evaluate", "--model", clf.path, "--data", mrpc.path])
        #expect(r3.status != 0 && r3.stderr.contains("fine-tuned on sst-2 data but mrpc.tsv looks like mrpc"), "\(r3.stderr)")
        // Messages name options that exist: predict has no --tokenizer.
        let noTok = tmp.appendingPathComponent("notok")
        try FileManager.default.createDirectory(at: noTok, withIntermediateDirectories: true)
        for f in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: clf.appendingPathComponent(f), to: noTok.appendingPathComponent(f))
        }
        let r4 = try run(["predict", "--model", noTok.path, "text"])
        #expect(r4.status != 0 && r4.stderr.contains("no tokenizer in") && !r4.stderr.contains("--tokenizer"), "\(r4.stderr)")
    }

    /// A kill in the middle of writing a checkpoint leaves the earlier checkpoints valid and
    /// no half-written one; resuming then ends where an uninterrupted run ends. A write that
    /// fails (a full disk) leaves nothing half-written either.
    @Test func killOrFullDiskDuringASaveLeavesNoPartialOutput() throws {
        let w = try workspace()
        let full = tmp.appendingPathComponent("full"), killed = tmp.appendingPathComponent("killed")
        let every = ["--save-steps", "2"]
        #expect(try run(finetuneArgs(w, full) + every).status == 0)
        let k = try run(finetuneArgs(w, killed) + every, env: ["ELECTRA_FAULT_INJECTION": "kill:trainer_state.json@2"])
        #expect(k.status != 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: killed.path)
        // Checkpoints at 2, 3 (epoch end), 4, 6: killed while writing checkpoint-3.
        #expect(names.contains("checkpoint-2") && !names.contains("checkpoint-3") && !names.contains("model.safetensors"), "\(names)")
        let resumed = try run(finetuneArgs(w, killed) + every + ["--resume"])
        #expect(resumed.status == 0 && resumed.stderr.contains("resuming from checkpoint-2"), "\(resumed.stderr)")
        #expect(try Data(contentsOf: killed.appendingPathComponent("model.safetensors")) == Data(contentsOf: full.appendingPathComponent("model.safetensors")))
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: killed.path)).contains { $0.hasPrefix(".") }, "temporary folders left")

        // The final model's write fails: the run fails, and no partial file or folder is left.
        let failed = tmp.appendingPathComponent("failed")
        let f = try run(finetuneArgs(w, failed), env: ["ELECTRA_FAULT_INJECTION": "fail:model.safetensors@3"])
        #expect(f.status != 0 && f.stderr.contains("No space left on device"), "\(f.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: failed.path)
        #expect(!left.contains("model.safetensors") && !left.contains { $0.hasPrefix(".") }, "\(left)")
        // convert: the output folder appears whole or not at all.
        let converted = tmp.appendingPathComponent("converted")
        let c = try run(["convert", "--input", w.model.path, "--output", converted.path], env: ["ELECTRA_FAULT_INJECTION": "fail:model.safetensors"])
        #expect(c.status != 0 && !FileManager.default.fileExists(atPath: converted.path))
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: tmp.path)).contains { $0.hasPrefix(".converted") })
        let init1 = try run(["init", "--preset", "small", "--output", converted.path, "--tokenizer", tmp.appendingPathComponent("nowhere").path])
        #expect(init1.status != 0 && !FileManager.default.fileExists(atPath: converted.path))
        let c2 = try run(["convert", "--input", w.model.path, "--output", converted.path])
        #expect(c2.status == 0, "\(c2.stderr)")
        let c3 = try run(["convert", "--input", w.model.path, "--output", converted.path])
        #expect(c3.status != 0 && c3.stderr.contains("exists; pass --overwrite"), "\(c3.stderr)")
        let c4 = try run(["convert", "--input", w.model.path, "--output", w.model.path, "--overwrite"])
        #expect(c4.status != 0 && c4.stderr.contains("holds the --input input"), "\(c4.stderr)")
        // --overwrite replaces what convert writes; a file of the user's beside it stays.
        try "mine".write(to: converted.appendingPathComponent("notes.txt"), atomically: false, encoding: .utf8)
        let before = try FileManager.default.contentsOfDirectory(atPath: converted.path).sorted()
        let c5 = try run(["convert", "--input", w.model.path, "--output", converted.path, "--overwrite", "--dtype", "f16"])
        #expect(c5.status == 0, "\(c5.stderr)")
        #expect(try String(contentsOf: converted.appendingPathComponent("notes.txt"), encoding: .utf8) == "mine")
        #expect(try FileManager.default.contentsOfDirectory(atPath: converted.path).sorted() == before)
        #expect(try SafeTensorsFile(url: converted.appendingPathComponent("model.safetensors")).records.values.allSatisfy { $0.dtype == .f16 })
        // init writes no tokenizer here: the converted model's stay, with a note saying so.
        let i2 = try run(["init", "--preset", "tiny", "--output", converted.path, "--overwrite"])
        #expect(i2.status == 0 && i2.stderr.contains("note: kept vocab.txt") && i2.stderr.contains("which this run did not write"), "\(i2.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: converted.path).sorted() == before)
        #expect(try String(contentsOf: converted.appendingPathComponent("notes.txt"), encoding: .utf8) == "mine")
        #expect(!c5.stderr.contains("note: kept"), "\(c5.stderr)")
    }
}

extension CLITests {
    @Test func dtypeOptionRunsInt8AndBF16AndRefusesWhatItCannot() throws {
        let fx = Fixtures.models.appendingPathComponent("seqcls_single_silu")
        let out = tmp.appendingPathComponent("int8.safetensors")
        let args = ["infer", "--model", fx.appendingPathComponent("model").path, "--input", fx.appendingPathComponent("inputs.safetensors").path, "--output", out.path]
        let r = try run(args + ["--dtype", "int8"])
        #expect(r.status == 0, "\(r.stderr)")
        let got = try SafeTensorsFile(url: out).floatTensor("logits")
        let want = try SafeTensorsFile(url: fx.appendingPathComponent("expected.safetensors")).floatTensor("logits")
        let d = maxAbsDiff(got, want)
        #expect(d > 0 && d <= 0.03 * want.scalars.map(abs).max()!, "int8 logits off by \(d)")
        // bf16's rounding (the portable path, forced: any CPU) stays within bf16's precision.
        let bf16 = try run(args + ["--dtype", "bf16"], env: ["ELECTRA_BF16": "portable"])
        #expect(bf16.status == 0 && bf16.stderr.contains("saves weight memory but not time"), "\(bf16.stderr)")
        let b = maxAbsDiff(try SafeTensorsFile(url: out).floatTensor("logits"), want)
        #expect(b > 0 && b <= 0.025 * want.scalars.map(abs).max()!, "bf16 logits off by \(b)")
        // Asked for plainly, bf16 runs natively, or in fp32 (fp32's logits exactly) with a note.
        let fp32 = try run(args)
        #expect(fp32.status == 0, "\(fp32.stderr)")
        let fp32Logits = try SafeTensorsFile(url: out).floatTensor("logits")
        let asked = try run(args + ["--dtype", "bf16"])
        #expect(asked.status == 0, "\(asked.stderr)")
        let askedDiff = maxAbsDiff(try SafeTensorsFile(url: out).floatTensor("logits"), fp32Logits)
        if BF16Kernel.route == .fp32 {
            #expect(askedDiff == 0 && asked.stderr.contains("the products run in fp32 here"), "\(askedDiff): \(asked.stderr)")
        } else {
            #expect(askedDiff > 0 && !asked.stderr.contains("the products run in fp32 here"), "\(askedDiff): \(asked.stderr)")
        }
        let bad = try run(args + ["--dtype", "int4"])
        #expect(bad.status != 0 && bad.stderr.contains("--dtype must be fp32, int8 or bf16, got 'int4'"), "\(bad.stderr)")
        // Training takes fp32 or bf16 only.
        let train = try run(["finetune", "--model", fx.appendingPathComponent("model").path, "--train", "/nonexistent.tsv",
                             "--output", tmp.appendingPathComponent("ft-int8").path, "--dtype", "int8"])
        #expect(train.status != 0 && train.stderr.contains("--dtype for training must be fp32 or bf16"), "\(train.stderr)")
        let portable = try run(args + ["--dtype", "int8"], env: ["ELECTRA_MAX_ISA": "sse"])
        #expect(portable.status == 0 && portable.stderr.contains("int8 runs on the portable loop"), "\(portable.stderr)")
    }
}
