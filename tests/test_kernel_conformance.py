"""The Jupyter project's kernel test suite (jupyter_kernel_test), run on the interp kernel."""

import os
import tempfile

import jupyter_kernel_test
import pytest


@pytest.mark.usefixtures('kernelspec')
class InterpKernelConformance(jupyter_kernel_test.KernelTests):
    kernel_name = 'interp'
    language_name = 'python'
    file_extension = '.py'

    code_hello_world = 'print("hello, world")'
    code_stderr = 'import sys\nprint("test", file=sys.stderr)'
    completion_samples = [{'text': 'zi', 'matches': {'zip'}}]
    complete_code_samples = ['1', 'print("hello, world")', 'def f(x):\n  return x*2\n\n\n']
    incomplete_code_samples = ['print("hello",', 'def f(x):\n  x*2']
    invalid_code_samples = ['import = 7q']
    code_page_something = 'zip?'
    code_generate_error = 'raise ValueError("boom")'
    code_execute_result = [{'code': '1+2+3', 'result': '6'}, {'code': '[n*n for n in range(4)]',
                                                            'result': '[0, 1, 4, 9]'}]
    code_display_data = [
        {'code': 'from IPython.display import HTML, display\ndisplay(HTML("<b>test</b>"))',
         'mime': 'text/html'},
        {'code': 'from IPython.display import Math, display\ndisplay(Math("\\\\frac{1}{2}"))',
         'mime': 'text/latex'},
    ]
    code_history_pattern = '1?2*'
    supported_history_operations = ('tail', 'search')   # as ipykernel's own suite
    code_inspect_sample = 'zip'
    code_clear_output = 'from IPython.display import clear_output\nclear_output()'

    @classmethod
    def setUpClass(cls):
        # An IPython directory of its own: the history the kernel searches is its
        # own cells', not those of every kernel this machine ran ('1<2 and 2<3'
        # from another notebook matched the suite's pattern '1?2*').
        cls._ipython_dir = tempfile.TemporaryDirectory()
        cls._ipython_dir_before = os.environ.get('IPYTHONDIR')
        os.environ['IPYTHONDIR'] = cls._ipython_dir.name
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if cls._ipython_dir_before is None:
            os.environ.pop('IPYTHONDIR', None)
        else:
            os.environ['IPYTHONDIR'] = cls._ipython_dir_before
        cls._ipython_dir.cleanup()
