#!/usr/bin/python3
"""Independent reference for `nlpc transcribe` decoding (temperature 0): openai/whisper's
transcribe() window loop and decoding.py (SuppressBlank, SuppressTokens, ApplyTimestampRules,
greedy and beam search, MaximumLikelihoodRanker, no-speech probability, segment splitting at
consecutive timestamps, seek advance, condition_on_previous_text prompts), written over
whisper_ref.py's cache-free forward pass.

  /usr/bin/python3 scripts/ref/whisper_decode_ref.py MODEL_DIR FEATURES_NPY MAX_NEW_TOKENS BEAM_SIZE
MODEL_DIR: output of `whisper_ref.py tiny DIR` plus whisper-tiny's generation_config.json;
FEATURES_NPY: `nlpc transcribe --dump-features` of the same audio ([80, frames], zero-padded).
Prints the segments as JSON ({"start","end","tokens"}) for comparison with nlpc's --format json.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import whisper_ref as ref  # noqa: E402

NEG = float("-inf")


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    W = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32"
        a, b = v["data_offsets"]
        W[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).copy())
    return W


class Vocab:
    def __init__(self, gen):
        self.eot = gen["eos_token_id"]
        self.sot = gen["decoder_start_token_id"]
        self.no_timestamps = gen["no_timestamps_token_id"]
        self.ts_begin = self.no_timestamps + 1
        self.transcribe = gen["task_to_id"]["transcribe"]
        self.translate = gen["task_to_id"]["translate"]
        self.sot_lm, self.sot_prev, self.no_speech = self.translate + 2, self.translate + 3, self.translate + 4
        self.lang = gen["lang_to_id"]
        self.suppress = sorted(set(gen["suppress_tokens"]) | {self.transcribe, self.translate, self.sot, self.sot_prev, self.sot_lm, self.no_speech})
        self.begin_suppress = gen["begin_suppress_tokens"]


def filters(logits, seqs, sample_begin, v):
    # logits: [n, vocab] (modified in place)
    if seqs[0].__len__() == sample_begin:
        logits[:, v.begin_suppress] = NEG
    logits[:, v.suppress] = NEG
    logits[:, v.no_timestamps] = NEG
    for k, seq in enumerate(seqs):
        s = seq[sample_begin:]
        last = len(s) >= 1 and s[-1] >= v.ts_begin
        penult = len(s) < 2 or s[-2] >= v.ts_begin
        if last:
            if penult:
                logits[k, v.ts_begin:] = NEG
            else:
                logits[k, :v.eot] = NEG
        ts = [t for t in s if t >= v.ts_begin]
        if ts:
            upto = ts[-1] if (last and not penult) else ts[-1] + 1
            logits[k, v.ts_begin:upto] = NEG
    if len(seqs[0]) == sample_begin:
        logits[:, :v.ts_begin] = NEG
        logits[:, v.ts_begin + 50 + 1:] = NEG  # max_initial_timestamp 1.0 s
    lp = torch.log_softmax(logits.float(), -1)
    for k in range(len(seqs)):
        if lp[k, v.ts_begin:].logsumexp(-1) > lp[k, :v.ts_begin].max():
            logits[k, :v.ts_begin] = NEG


def decode_window(W, c, v, enc, initial, max_new, beam):
    sample_begin = len(initial)
    n = beam if beam > 0 else 1
    seqs = [list(initial) for _ in range(n)]
    sums = [0.0] * n
    finished = {}
    no_speech = None
    for i in range(max_new):
        logits_all = ref.decode(W, c, torch.tensor(seqs), enc.expand(n, -1, -1))
        if i == 0:
            no_speech = float(logits_all[0, initial.index(v.sot)].softmax(-1)[v.no_speech])
        logits = logits_all[:, -1].clone()
        filters(logits, seqs, sample_begin, v)
        lp = torch.log_softmax(logits.float(), -1)
        if beam == 0:
            s = seqs[0]
            if s[-1] == v.eot:
                break
            t = int(logits[0].argmax())
            sums[0] += float(lp[0, t])
            s.append(t)
            if t == v.eot:
                break
        else:
            scores, sources = {}, {}
            for j in range(n):
                vals, ids = lp[j].topk(beam + 1)
                for val, t in zip(vals.tolist(), ids.tolist()):
                    sq = tuple(seqs[j] + [t])
                    scores[sq] = sums[j] + val
                    sources[sq] = j
            new, new_sums, newly = [], [], {}
            for sq in sorted(scores, key=scores.get, reverse=True):
                if sq[-1] == v.eot:
                    newly[sq] = scores[sq]
                else:
                    new.append(list(sq))
                    new_sums.append(scores[sq])
                    if len(new) == beam:
                        break
            seqs, sums = new, new_sums
            for sq in sorted(newly, key=newly.get, reverse=True):
                if len(finished) >= beam:
                    break
                finished[sq] = newly[sq]
            if len(finished) >= beam:
                break
        if len(seqs[0]) >= c["max_target_positions"]:
            break
    if beam == 0:
        cands, cand_sums = [seqs[0]], sums
    else:
        if len(finished) < beam:
            for j in np.argsort(sums)[::-1]:
                finished[tuple(seqs[j] + [v.eot])] = sums[j]
                if len(finished) >= beam:
                    break
        cands, cand_sums = [list(s) for s in finished], list(finished.values())
    outs = []
    for s in cands:
        s = s[sample_begin:]
        outs.append(s[:s.index(v.eot)] if v.eot in s else s)
    best = int(np.argmax([lp / max(1, len(t)) for t, lp in zip(outs, cand_sums)]))
    toks = outs[best]
    return toks, cand_sums[best] / (len(toks) + 1), no_speech


def main():
    model_dir, feats_path, max_new, beam = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    c = json.load(open(os.path.join(model_dir, "config.json")))
    v = Vocab(json.load(open(os.path.join(model_dir, "generation_config.json"))))
    W = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    mel = torch.from_numpy(np.load(feats_path))
    content = int(sys.argv[5]) if len(sys.argv) > 5 else mel.shape[1]
    seek, segments, all_tokens = 0, [], []
    torch.set_num_threads(2)
    with torch.no_grad():
        while seek < content:
            size = min(3000, content - seek)
            window = torch.zeros(1, 80, 3000)
            window[0, :, :size] = mel[:, seek:seek + size]
            enc = ref.encode(W, c, window)
            prompt = all_tokens[-223:]
            initial = ([v.sot_prev] + prompt if prompt else []) + [v.sot, v.lang["<|en|>"], v.transcribe]
            toks, avg, no_speech = decode_window(W, c, v, enc, initial, max_new, beam)
            offset = seek / 100.0
            if no_speech > 0.6 and not avg > -1.0:
                seek += size
                continue
            is_ts = [t >= v.ts_begin for t in toks]
            single_end = is_ts[-2:] == [False, True]
            cons = [i for i in range(1, len(toks)) if is_ts[i - 1] and is_ts[i]]
            cur = []
            if cons:
                if single_end:
                    cons.append(len(toks))
                last = 0
                for s in cons:
                    part = toks[last:s]
                    cur.append(dict(start=offset + (part[0] - v.ts_begin) * 0.02, end=offset + (part[-1] - v.ts_begin) * 0.02, tokens=part))
                    last = s
                seek += size if single_end else (toks[last - 1] - v.ts_begin) * 2
            else:
                dur = size / 100.0
                ts = [t for t in toks if t >= v.ts_begin]
                if ts and ts[-1] != v.ts_begin:
                    dur = (ts[-1] - v.ts_begin) * 0.02
                cur.append(dict(start=offset, end=offset + dur, tokens=toks))
                seek += size
            for s in cur:
                # empty text cannot be judged here without the tokenizer: keep segments with any text token
                if s["start"] == s["end"] or not any(t < v.eot for t in s["tokens"]):
                    continue
                segments.append(s)
                all_tokens += s["tokens"]
    print(json.dumps(segments))


if __name__ == "__main__":
    main()
