#!/usr/bin/python3
"""Golden Porter stems for nlpc's ROUGE stemmer, from NLTK's PorterStemmer() (NLTK_EXTENSIONS mode,
the stemmer rouge_score uses). Needs Debian's python3-nltk.

  /usr/bin/python3 scripts/ref/porter_ref.py ../shared/datasets/debian-packages-en/test.csv \
      > tests/fixtures/rouge/porter_golden.tsv

Words: the paper's examples and rule edge cases, plus the distinct lowercase [a-z0-9]+ tokens of
the given CSV (first 1500 by first occurrence)."""
import csv
import re
import sys

from nltk.stem import porter

EDGE = """caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled
sized hopping tanned falling hissing fizzed failing filing happy sky relational conditional rational
valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli vietnamization
predication operator feudalism decisiveness hopefulness callousness formaliti sensitiviti sensibiliti
triplicate formative formalize electriciti electrical hopeful goodness revival allowance inference
airliner gyroscopic adjustable defensible irritant replacement adjustment dependent adoption homologou
communism activate angulariti homologous effective bowdlerize probate rate cease controll roll dies
flies died spied dying lying tying news innings outings cannings howe proceed exceed succeed skies
generously fully fulli geology theology archaeology analogy enjoy spy fly try tried abilities
ability capabilities possibly generalization oed is as be by a i ed ing ying yes yell yelling
agreement traditional tradition cats1 1990s mp3 x11 libreoffice""".split()


def main():
    words, seen = [], set()
    for w in EDGE:
        if w not in seen:
            seen.add(w)
            words.append(w)
    extra = 0
    with open(sys.argv[1], newline="") as f:
        for row in csv.reader(f):
            for cell in row:
                for w in re.split(r"[^a-z0-9]+", cell.lower()):
                    if w and w not in seen and extra < 1500:
                        seen.add(w)
                        words.append(w)
                        extra += 1
    st = porter.PorterStemmer()
    for w in words:
        print("%s\t%s" % (w, st.stem(w)))


if __name__ == "__main__":
    main()
