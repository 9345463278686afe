import Foundation
import Testing

@testable import Electra

/// Options a command's path does not read are refused, naming them, rather than silently
/// ignored; out-of-range values are errors. Each case fails before any work starts.
extension CLITests {
    @Test func optionsThePathDoesNotReadAreRefused() throws {
        let w = try workspace()
        let model = w.model.path
        let cases: [([String], String)] = [
            // finetune: another task's options
            (finetuneArgs(w, tmp.appendingPathComponent("f1")) + ["--tag-column", "1"], "--tag-column does not apply to --task sequence-classification"),
            (finetuneArgs(w, tmp.appendingPathComponent("f2")) + ["--task", "token-classification", "--num-labels", "3", "--doc-stride", "64"],
             "--doc-stride, --num-labels do not apply to --task token-classification"),
            (finetuneArgs(w, tmp.appendingPathComponent("f3")) + ["--lr-schedule", "constant", "--warmup", "0.2"], "--lr-schedule constant has no warmup"),
            (finetuneArgs(w, tmp.appendingPathComponent("f4")) + ["--no-header"], "--no-header needs --text-column"),
            // predict / evaluate: options of another task or path
            (["predict", "--model", model, "--aggregation-strategy", "simple", "a text"], "--aggregation-strategy does not apply to sequence classification"),
            (["predict", "--model", model, "--input", "x.conll", "a text"], "--input does not apply to sequence classification"),
            (["predict", "--model", model, "--task", "question-answering", "--question", "q?"], "--question needs --context"),
            (["predict", "--model", model, "--task", "question-answering", "--question", "q?", "--context", "c", "--null-odds", "o.json"],
             "--null-odds does not apply to answering --question"),
            (["predict", "--model", model, "--task", "question-answering", "--input", "d.json", "--output", "p.json", "--top-k", "2"],
             "--top-k does not apply to question answering of a SQuAD file"),
            (["predict", "--model", model, "--task", "token-classification", "--max-length", "64", "a text"],
             "--max-length does not apply to token classification of text"),
            (["predict", "--model", model, "--task", "token-classification", "--file", "t.txt", "--output", "o.txt"], "--output does not apply to token classification of text"),
            (["predict", "--model", model, "--task", "multiple-choice", "--file", "m.jsonl", "--json"], "--json does not apply to multiple choice"),
            (["evaluate", "--model", model, "--data", "d.tsv", "--tag-column", "2"], "--tag-column does not apply to evaluating --task sequence-classification"),
            (["evaluate", "--model", model, "--task", "question-answering", "--data", "d.json", "--max-answer-length", "0"], "--max-answer-length must be positive"),
            // pretrain: rtd options with mlm, validation options without --validation
            (["pretrain", "--data", "d", "--output", "o", "--objective", "mlm", "--temperature", "2"], "--temperature does not apply to --objective mlm"),
            (["pretrain", "--data", "d", "--output", "o", "--eval-steps", "5"], "--eval-steps does not apply to a run without --validation"),
            // bench, tokenize
            (["bench", "--iterations", "0", "--min-seconds", "0"], "--iterations must be at least 1"),
            (["bench", "--train", "--pretrain"], "pass --train or --pretrain, not both"),
            (["bench", "--batch-size", "8"], "--batch-size does not apply to forward passes"),
            (["tokenize", "--tokenizer", model, "--max-length", "8", "--no-truncation"], "pass --max-length or --no-truncation, not both"),
            (["tokenize", "--tokenizer", model, "--truncation", "only_second"], "--truncation needs --max-length"),
            (["tokenize", "--tokenizer", model, "--padding", "longest", "--pad-to-multiple-of", "0"], "--pad-to-multiple-of must be in 1...1048576"),
        ]
        for (args, message) in cases {
            let r = try run(args)
            #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: tmp.appendingPathComponent("f1").path))
    }

    /// fill-mask says which targets are not vocabulary entries and what stands for them (HF warns too).
    @Test func fillMaskNamesTargetsOutsideTheVocabulary() throws {
        let r = try run(["fill-mask", "the [MASK] sat on the mat", "--target", "cat", "--target", "catapultish"])
        #expect(r.status == 0 && r.stderr.contains("target 'catapultish' is not in the vocabulary; its first token 'cat' stands for it"), "\(r.stderr)")
        #expect(!r.stderr.contains("target 'cat' "), "\(r.stderr)")
    }
}

/// Damaged or extreme inputs that used to trap (an index out of range, an overflow, an
/// allocation of a size read from a file): each is now an error naming what is wrong.
extension CLITests {
    @Test func damagedInputsAreErrorsNotCrashes() throws {
        let w = try workspace()
        // A negative TSV column.
        let col = try run(["evaluate", "--model", w.model.path, "--data", w.dev.path, "--text-column=-1", "--label-column", "1"])
        #expect(col.status == 1 && col.stderr.contains("--text-column must be a 0-based column number, got -1"), "\(col.stderr)")

        // A checkpoint whose trainer_state.json says global_step -1, resumed.
        let out = tmp.appendingPathComponent("damaged-resume")
        #expect(try run(finetuneArgs(w, out) + ["--max-steps", "1"]).status == 0)
        let state = out.appendingPathComponent("checkpoint-1/trainer_state.json")
        let text = try String(contentsOf: state, encoding: .utf8)
        let edited = text.replacingOccurrences(of: #"("global_step"\s*:\s*)1"#, with: "$1-1", options: .regularExpression)
        #expect(edited != text)
        try edited.write(to: state, atomically: true, encoding: .utf8)
        let resumed = try run(finetuneArgs(w, out) + ["--max-steps", "1", "--resume"])
        #expect(resumed.status == 1 && resumed.stderr.contains("global_step is -1"), "\(resumed.stderr)")

        // tokenizer.json: an id no vocabulary has, a fixed padding no model reads.
        func tokenizerFolder(_ name: String, vocab: String, padding: String = "null", special: String = "[UNK]") throws -> URL {
            let dir = tmp.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try ###"{"version": "1.0", "truncation": null, "padding": \###(padding), "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": null, "decoder": null, "model": {"type": "WordPiece", "unk_token": "\###(special)", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": \###(vocab)}}"###
                .write(to: dir.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
            if special != "[UNK]" {
                let names = ["unk_token", "sep_token", "pad_token", "cls_token", "mask_token"].map { "\"\($0)\": \"\(special)\"" }.joined(separator: ", ")
                try "{\(names)}".write(to: dir.appendingPathComponent("special_tokens_map.json"), atomically: true, encoding: .utf8)
            }
            return dir
        }
        let bigId = try tokenizerFolder("tok-big-id", vocab: #"{"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3, "[MASK]": 4, "a": 1099511627776}"#)
        let r1 = try run(["tokenize", "--tokenizer", bigId.path], stdin: Data("a\n".utf8))
        #expect(r1.status != 0 && r1.stderr.contains("ids must be below 16,777,216"), "\(r1.stderr)")
        let vocab = #"{"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3, "[MASK]": 4, "a": 5}"#
        let bigPad = try tokenizerFolder("tok-big-pad", vocab: vocab, padding: #"{"strategy": {"Fixed": 1000000000000}}"#)
        let r2 = try run(["tokenize", "--tokenizer", bigPad.path], stdin: Data("a\n".utf8))
        #expect(r2.status != 0 && r2.stderr.contains("padding.strategy.Fixed"), "\(r2.stderr)")
        // Pad ids of any Int are written in full (the line buffer was sized for short ones).
        let oddPad = try tokenizerFolder("tok-odd-pad", vocab: #"{"x": 0}"#, padding: #"{"strategy": {"Fixed": 300}, "pad_id": -9223372036854775808, "pad_type_id": -9223372036854775808}"#, special: "x")
        let r3 = try run(["tokenize", "--tokenizer", oddPad.path], stdin: Data(String(repeating: "x\n", count: 50).utf8))
        #expect(r3.status == 0 && r3.stdout.split(separator: "\n").count == 50 && r3.stdout.contains("-9223372036854775808"), "\(r3.stderr)")

        // A prepared shard whose offsets go backwards: refused when the data is opened.
        let pw = try pretrainWorkspace()
        let data = tmp.appendingPathComponent("damaged-data")
        #expect(try run(["prepare-data", "--tokenizer", pw.tokenizer.path, "--input", pw.corpus.path, "--output", data.path, "--max-seq-length", "32"]).status == 0)
        let shard = data.appendingPathComponent("shard-00000.safetensors")
        let f = try SafeTensorsFile(url: shard)
        var offsets = try f.intTensor("offsets")
        offsets.values.swapAt(1, 2)
        let ids = try f.intTensor("input_ids"), ends = try f.intTensor("first_segment_end")
        try SafeTensorsWriter.write([("input_ids", .int32(ids)), ("offsets", .int64(offsets)), ("first_segment_end", .int32(ends))], to: shard)
        let p = try run(pretrainArgs(data, tmp.appendingPathComponent("damaged-run")))
        #expect(p.status == 1 && p.stderr.contains("the data folder is corrupt"), "\(p.stderr)")
    }
}
