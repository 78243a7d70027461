from test_inbox_browser import *  # noqa

def test_shot(live_server, page):
    log_in(page, live_server, "dsw.staff")
    page.click("button[data-process=user_account_application]")
    page.fill("#field-unit", "x")
    page.evaluate("document.querySelector('form.stacked').noValidate = true")
    page.click(".task-form button[type=submit]")
    page.set_viewport_size({"width": 1200, "height": 1400})
    page.screenshot(path="/tmp/shot_task.png", full_page=True)
    fill_form_1_2(page)
    page.click(".task-form button[type=submit]")
    page.wait_for_selector('.ready-task')
    page.screenshot(path="/tmp/shot_instance.png", full_page=True)
