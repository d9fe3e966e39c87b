"""The kernelspec: kernel.json with the logos, and how JupyterLab's launcher shows them."""

import json
import struct
import tomllib
from pathlib import Path

from interpkernel.kernel.install import DISPLAY_NAME, LOGOS, install
from test_jupyterlab import TOKEN, browser, lab, page  # noqa: F401 (the JupyterLab fixtures)

ROOT = Path(__file__).parent.parent

# The words of an element's text that the browser split across two lines.
_WORDS_BROKEN = """element => {
    const broken = [];
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const word of node.textContent.matchAll(/\\S+/g)) {
            const range = document.createRange();
            range.setStart(node, word.index);
            range.setEnd(node, word.index + word[0].length);
            const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            if (tops.size > 1) broken.push(word[0]);
        }
    }
    return broken;
}"""


def _png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b'\x89PNG\r\n\x1a\n', f'{path.name} is not a PNG'
    return struct.unpack('>II', header[16:24])


def test_install_puts_the_logos_next_to_kernel_json(tmp_path):
    folder = Path(install(prefix=str(tmp_path)))
    assert sorted(p.name for p in folder.iterdir()) == sorted(['kernel.json', *LOGOS])
    assert _png_size(folder / 'logo-32x32.png') == (32, 32)
    assert _png_size(folder / 'logo-64x64.png') == (64, 64)
    assert (folder / 'logo-svg.svg').read_text().startswith('<svg')
    assert json.loads((folder / 'kernel.json').read_text())['display_name'] == DISPLAY_NAME


def test_the_logos_ship_as_package_data():
    settings = tomllib.loads((ROOT / 'pyproject.toml').read_text())['tool']['setuptools']
    patterns = settings['package-data']['interpkernel.kernel']
    shipped = {p.name for pattern in patterns for p in (ROOT / 'interpkernel/kernel').glob(pattern)}
    assert set(LOGOS) <= shipped


def test_the_launcher_shows_the_logo_and_the_whole_name(lab, page, artefacts):
    url, _ = lab
    page.goto(f'{url}/lab?reset&token={TOKEN}')
    card = page.locator('.jp-LauncherCard', has_text=DISPLAY_NAME).first
    card.wait_for(timeout=60_000)
    logo = card.locator('img')
    logo.wait_for(timeout=30_000)
    page.wait_for_function('img => img.complete && img.naturalWidth > 0', arg=logo.element_handle())
    assert logo.get_attribute('src').rpartition('/')[2] in LOGOS   # not the letter 'P'
    assert card.locator('.jp-LauncherCard-label').evaluate(_WORDS_BROKEN) == []
    card.screenshot(path=artefacts / 'launcher-card.png')
    notebooks = page.locator('.jp-Launcher-section', has=page.locator(
        '.jp-Launcher-sectionTitle', has_text='Notebook'))   # the launcher's Notebook row
    notebooks.screenshot(path=artefacts / 'launcher.png')
