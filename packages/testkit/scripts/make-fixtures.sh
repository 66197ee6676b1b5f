#!/usr/bin/env bash
# Regenerates the audio fixtures in ../fixtures (committed; tests never run this). Speech comes from
# Debian's flite voices kal16 and rms, which recognisers understand; noise, a cough and clicks are
# shaped with sox. Everything is 8 kHz mono PCM16 WAV: the telephone rate, small enough to commit.
# Needs: apt-get install flite sox
set -euo pipefail
cd "$(dirname "$0")/../fixtures"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

to8k() { sox "$1" -r 8000 -c 1 -b 16 -e signed-integer "$2" gain -n -3; }

speak() { # name voice text
  flite -voice "$2" -t "$3" -o "$tmp/$1.wav"
  to8k "$tmp/$1.wav" "$1.wav"
}

speak greeting-request kal16 "Hello, I would like to book an appointment for tomorrow morning."
speak opening-hours rms "What time do you open on Saturday?"
speak order-complaint kal16 "I am calling about my order. It was supposed to arrive last week, but I still have not received anything."
speak thank-you rms "Thank you, that is all I needed."
speak interrupt-wait kal16 "Wait, stop, I have a question."
speak backchannel-yeah rms "yeah"
speak backchannel-okay kal16 "okay"
speak backchannel-mm-hm rms "mm hmm"
speak backchannel-right kal16 "right"

sox -n -r 8000 -c 1 -b 16 -e signed-integer silence-2s.wav trim 0 2
# Telephone line hiss: pink noise about 40 dB below full scale.
sox -n -r 8000 -c 1 -b 16 -e signed-integer line-noise-3s.wav synth 3 pinknoise vol 0.01
# A cough: two short bursts of band-limited noise with fast attack and decay.
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/burst.wav" synth 0.18 whitenoise sinc 300-2500 fade q 0.01 0.18 0.14 vol 0.5
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/gap.wav" trim 0 0.12
sox "$tmp/burst.wav" "$tmp/gap.wav" "$tmp/burst.wav" cough.wav
# Clicks: four 2 ms impulses 250 ms apart.
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/click.wav" synth 0.002 square 1000 vol 0.8
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/pause.wav" trim 0 0.248
sox "$tmp/click.wav" "$tmp/pause.wav" "$tmp/click.wav" "$tmp/pause.wav" "$tmp/click.wav" "$tmp/pause.wav" "$tmp/click.wav" clicks.wav
# A 1 kHz tone (e.g. a beep), 500 ms: not speech.
sox -n -r 8000 -c 1 -b 16 -e signed-integer tone-1khz.wav synth 0.5 sine 1000 vol 0.3
