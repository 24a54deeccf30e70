"""The VERIFY.txt a package carries: how to check it with stock tools, in English and Malay.

Invariant: every command written here is one the tests run on a real package.
"""

from __future__ import annotations

ENGLISH = """\
HOW TO CHECK THIS EVIDENCE PACKAGE (no special software needed)
================================================================

Package:      {bag}
Case:         {case_id}
Packaged by:  {packager}
Key fingerprint of the person who packaged it:
    {fingerprint}
Compare this fingerprint with the one you were given on paper or in person.
If they differ, do not trust this package.

Run these commands in a terminal, in the folder that holds the zip file.

1. Unpack it:
       unzip {bag}.zip && cd {bag}

2. Check the signature over the package index (proves who packaged it, and that
   the list of every file's SHA-256 is exactly what they signed):
       ssh-keygen -Y verify -f allowed_signers -I {principal} -n evidencekit \\
           -s tagmanifest-sha256.txt.sig < tagmanifest-sha256.txt
   Expected: Good "evidencekit" signature for {principal} with ED25519 key {fingerprint}
   Without ssh-keygen, the same signature in a second form, with OpenSSL 3:
       openssl pkeyutl -verify -pubin -inkey packager.pem -rawin \\
           -in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.ed25519
   Expected: Signature Verified Successfully

3. Check the package's own files against the signed list (proves the file lists
   below are the ones that were signed):
       sha256sum -c --strict tagmanifest-sha256.txt
   Expected: every line ends in OK

4. Check every evidence file against its SHA-256 (proves no listed file was changed
   or removed since packaging):
       sha256sum -c --strict --quiet manifest-sha256.txt
   Expected: no output and exit status 0 (on macOS: shasum -a 256 -c manifest-sha256.txt)
   And check that no file was added: the count must equal the number after the dot in
   the Payload-Oxum line of bag-info.txt:
       find data -type f | wc -l

5. The evidence record itself: data/case/manifest.json lists every item with its
   hashes, where and when it was collected and by whom; data/case/custody.jsonl is the
   signed chain of custody; data/case/manifest.json.sig is the collector's signature:
       cd data/case && ssh-keygen -Y verify -f allowed_signers -I <collector name> \\
           -n evidencekit -s manifest.json.sig < manifest.json
   With evidencekit installed, one command checks all of this and the custody chain:
       evidencekit verify {bag}.zip --trust {fingerprint}

6. To read: if there is a folder data/reports/, it holds reports for people, made when
   the package was made: report-en.html and report-ms.html for a web browser,
   report-en.pdf and report-ms.pdf to print, in English and Malay. They never show a
   picture. Step 4 checks them like every other file; the evidence itself is the files
   in data/evidence/ and data/case/.

What these checks prove: the files are exactly the ones the packager signed, and the
evidence record is exactly the one its collector signed. They do not prove that a
screenshot shows the truth; a person has to attest to that.
"""

MALAY = """\
CARA MEMERIKSA PAKEJ BUKTI INI (tiada perisian khas diperlukan)
===============================================================

Pakej:        {bag}
Kes:          {case_id}
Dibungkus oleh: {packager}
Cap jari kunci orang yang membungkusnya:
    {fingerprint}
Bandingkan cap jari ini dengan yang diberikan kepada anda di atas kertas atau secara
bersemuka. Jika berbeza, jangan percaya pakej ini.

Jalankan arahan ini dalam terminal, di dalam folder yang mengandungi fail zip.

1. Buka pakej:
       unzip {bag}.zip && cd {bag}

2. Semak tandatangan ke atas indeks pakej (membuktikan siapa yang membungkusnya, dan
   senarai SHA-256 setiap fail adalah tepat seperti yang ditandatangani):
       ssh-keygen -Y verify -f allowed_signers -I {principal} -n evidencekit \\
           -s tagmanifest-sha256.txt.sig < tagmanifest-sha256.txt
   Dijangka: Good "evidencekit" signature for {principal} with ED25519 key {fingerprint}
   Tanpa ssh-keygen, tandatangan yang sama dalam bentuk kedua, dengan OpenSSL 3:
       openssl pkeyutl -verify -pubin -inkey packager.pem -rawin \\
           -in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.ed25519
   Dijangka: Signature Verified Successfully

3. Semak fail-fail pakej berbanding senarai yang ditandatangani:
       sha256sum -c --strict tagmanifest-sha256.txt
   Dijangka: setiap baris berakhir dengan OK

4. Semak setiap fail bukti berbanding SHA-256nya (membuktikan tiada fail yang
   disenaraikan diubah atau dibuang sejak dibungkus):
       sha256sum -c --strict --quiet manifest-sha256.txt
   Dijangka: tiada output dan status keluar 0 (di macOS: shasum -a 256 -c manifest-sha256.txt)
   Dan semak tiada fail ditambah: bilangan ini mesti sama dengan nombor selepas titik
   pada baris Payload-Oxum dalam bag-info.txt:
       find data -type f | wc -l

5. Rekod bukti: data/case/manifest.json menyenaraikan setiap item dengan hash, di mana
   dan bila ia dikumpul dan oleh siapa; data/case/custody.jsonl ialah rantaian jagaan
   yang ditandatangani. Dengan evidencekit, satu arahan menyemak semuanya:
       evidencekit verify {bag}.zip --trust {fingerprint}

6. Untuk dibaca: jika ada folder data/reports/, ia mengandungi laporan untuk dibaca,
   dibuat semasa pakej dibungkus: report-en.html dan report-ms.html untuk pelayar web,
   report-en.pdf dan report-ms.pdf untuk dicetak, dalam bahasa Inggeris dan Melayu. Ia
   tidak pernah menunjukkan gambar. Langkah 4 menyemaknya seperti fail lain; bukti itu
   sendiri ialah fail dalam data/evidence/ dan data/case/.

Apa yang dibuktikan oleh semakan ini: fail-fail adalah tepat seperti yang ditandatangani
oleh pembungkus, dan rekod bukti adalah tepat seperti yang ditandatangani oleh
pengumpulnya. Ia tidak membuktikan bahawa tangkapan skrin menunjukkan kebenaran; seseorang
perlu mengesahkannya.
"""


def verify_text(*, bag: str, case_id: str, packager: str, principal: str, fingerprint: str) -> bytes:
    """VERIFY.txt for one package: English, then Malay (UTF-8, LF)."""
    values = {"bag": bag, "case_id": case_id, "packager": packager, "principal": principal, "fingerprint": fingerprint}
    return (ENGLISH.format(**values) + "\n\n" + MALAY.format(**values)).encode("utf-8")
