#!/usr/bin/python3
"""Independent reference for nlpc's Whisper log-mel features (tests/unit/test_audio.cpp).

Reimplements openai/whisper's audio.py in float64 NumPy (explicit framing + np.fft.rfft instead of
torch.stft) with transcribe()'s convention: 30 s of zero samples appended before the STFT
(log_mel_spectrogram(audio, padding=N_SAMPLES)), so the max - 8 floor is over the whole recording.
Also checks librosa-style Slaney filters computed here against whisper's mel_filters.npz.

Run with Debian's python: /usr/bin/python3 scripts/ref/whisper_audio_ref.py
Writes tests/fixtures/audio/{jfk_mel.npy, mel_filters_80.npy, mel_filters_128.npy}.
"""
import os
import struct
import sys
import wave

import numpy as np

SR, N_FFT, HOP, N_SAMPLES = 16000, 400, 160, 480000
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures", "audio")


def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    logstep = np.log(6.4) / 27.0
    mels = f / f_sp
    return np.where(f >= min_log_hz, min_log_hz / f_sp + np.log(np.maximum(f, 1e-12) / min_log_hz) / logstep, mels)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def slaney_filters(n_mels):
    freqs = np.linspace(0, SR / 2, N_FFT // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SR / 2), n_mels + 2))
    fdiff = np.diff(edges)
    ramps = edges[:, None] - freqs[None, :]
    w = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        w[i] = np.maximum(0, np.minimum(lower, upper))
    w *= (2.0 / (edges[2:n_mels + 2] - edges[:n_mels]))[:, None]
    return w


def read_wav_s16(path):
    with wave.open(path, "rb") as f:
        assert f.getsampwidth() == 2 and f.getnchannels() == 1 and f.getframerate() == SR
        data = f.readframes(f.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768.0


def log_mel(audio, filters, padding):
    x = np.concatenate([audio, np.zeros(padding)])
    pad = N_FFT // 2
    x = np.concatenate([x[1:pad + 1][::-1], x, x[-pad - 1:-1][::-1]])  # reflect, like torch.stft
    n_frames = 1 + (len(x) - N_FFT) // HOP
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann
    frames = np.stack([x[i * HOP:i * HOP + N_FFT] for i in range(n_frames)]) * window
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # [frames, 201]
    power = power[:-1].T  # drop the last frame -> [201, frames]
    spec = np.log10(np.maximum(filters @ power, 1e-10))
    spec = np.maximum(spec, spec.max() - 8.0)
    return (spec + 4.0) / 4.0


def main():
    npz = np.load(os.path.join(FIX, "mel_filters.npz"))
    for n in (80, 128):
        mine = slaney_filters(n)
        diff = np.abs(mine - npz[f"mel_{n}"]).max()
        print(f"slaney filters {n}: max abs diff vs whisper's mel_filters.npz = {diff:.3g}")
        assert diff < 1e-6
        np.save(os.path.join(FIX, f"mel_filters_{n}.npy"), npz[f"mel_{n}"].astype(np.float32))
    audio = read_wav_s16(os.path.join(FIX, "jfk.wav"))
    mel = log_mel(audio, npz["mel_80"].astype(np.float64), N_SAMPLES)
    content = len(audio) // HOP
    assert mel.shape[1] == content + 3000, mel.shape
    out = mel[:, :content].astype(np.float32)
    np.save(os.path.join(FIX, "jfk_mel.npy"), out)
    print(f"jfk: {len(audio)} samples, mel {mel.shape} -> saved content frames {out.shape}, "
          f"max {out.max():.6f} min {out.min():.6f} mean {out.mean():.6f}")
    # padded tail (the 30 s of zeros) is constant at the floor; report it for the C++ test
    print(f"padding frames value: {mel[:, content + 10].min():.6f} .. {mel[:, content + 10].max():.6f}")
    if len(sys.argv) > 1 and sys.argv[1] == "--torch":
        import torch
        t = torch.from_numpy(audio.astype(np.float32))
        t = torch.nn.functional.pad(t, (0, N_SAMPLES))
        st = torch.stft(t, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True)
        mag = st[..., :-1].abs() ** 2
        spec = (torch.from_numpy(npz["mel_80"]) @ mag).clamp(min=1e-10).log10()
        spec = torch.maximum(spec, spec.max() - 8.0)
        spec = (spec + 4.0) / 4.0
        print("whisper torch float32 vs float64 numpy:", float((spec[:, :content].numpy() - out).__abs__().max()))


if __name__ == "__main__":
    main()
