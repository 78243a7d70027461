"""A real Chromium in the modeler: add a user task in a new lane, deploy, start an instance, see the new task;
validation errors point at the element; others see the model read-only; the versions page marks the diff."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_inbox_browser import browser, live_server, log_in, log_out, page

pytestmark = pytest.mark.e2e
FIXTURES = (browser, live_server, page)  # shared with the inbox browser test (no second conftest.py)
PROCESS = "request_review"
MODEL = f"/modeler/{PROCESS}"
BPMN = Path(__file__).resolve().parents[1] / "data" / "modeler" / f"{PROCESS}.bpmn"


def box_of(page, element_id: str) -> dict:
    return page.locator(f'.djs-element[data-element-id="{element_id}"]').first.bounding_box()


def click_at(page, element_id: str, fx: float = 0.5, fy: float = 0.5) -> None:
    """Click a diagram element at a fraction of its box (off-centre avoids flows drawn across it)."""
    box = box_of(page, element_id)
    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


def clear_selection(page) -> None:
    canvas = page.locator("#canvas").bounding_box()
    page.mouse.click(canvas["x"] + canvas["width"] / 2, canvas["y"] + 15)


def selected(page) -> list[str]:
    return page.evaluate("() => window.webirModeler.get('selection').get().map(e => e.id)")


def lanes(page) -> list[str]:
    return page.evaluate("() => window.webirModeler.get('elementRegistry')"
                         ".filter(e => e.type === 'bpmn:Lane').map(e => e.id)")


def deploy_small_model(page, base: str) -> None:
    """A small, stable model of our own (the bundled ones keep growing), deployed through the API."""
    page.goto(base + "/modeler")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    response = page.request.post(f"{base}/api/v1/process-models/{PROCESS}/versions", headers={"X-CSRFToken": token},
                                 multipart={"message": "請求審核 first version",
                                            "files": {"name": BPMN.name, "mimeType": "application/xml",
                                                      "buffer": BPMN.read_bytes()}})
    assert response.status == 201, response.text()


def open_model(page, base: str) -> None:
    page.goto(base + MODEL)
    expect(page.locator("#canvas[data-rendered=true]")).to_be_attached()


def add_lane(page, role: str) -> str:
    """Add a lane below the pool's lanes with the pool's context pad, and name it after a role in our panel."""
    before = set(lanes(page))
    click_at(page, f"Participant_{PROCESS}", fx=0.02)
    page.click('.djs-context-pad .entry[data-action="lane-insert-below"]')
    (lane,) = set(lanes(page)) - before
    click_at(page, lane, fx=0.01)
    page.select_option("#spiff-lane-role", role)
    return lane


def add_user_task(page, lane: str, x: float) -> None:
    """Drop a task from the palette into the lane, then make it a user task with the replace menu."""
    box = box_of(page, lane)
    page.click('.djs-palette .entry[data-action="create.task"]')
    page.mouse.move(box["x"] + x - 10, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + x, box["y"] + box["height"] / 2)
    page.keyboard.press("Escape")  # leave the label editor the new task opens
    page.click('.djs-context-pad .entry[data-action="replace"]')
    page.click('.djs-popup [data-id="replace-with-user-task"]')


def name_it(page, element_id: str, name: str) -> None:
    """Id and name in the properties panel's General group."""
    page.click('.bio-properties-panel-group-header:has-text("General")')
    page.fill("#bio-properties-panel-id", element_id)
    page.fill("#bio-properties-panel-name", name)
    expect(page.locator("#spiff-fields .element-kind")).to_contain_text(element_id)


def connect(page, source: str, target: str) -> None:
    clear_selection(page)
    click_at(page, source, 0.75, 0.3)
    page.click('.djs-context-pad .entry[data-action="connect"]')
    box = box_of(page, target)
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.6)
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.6)


def test_add_a_user_task_in_a_new_lane_deploy_start_and_see_the_task(live_server, page):
    log_in(page, live_server, "dol.analyst")
    deploy_small_model(page, live_server)
    open_model(page, live_server)
    lane = add_lane(page, "unit_admin")
    add_user_task(page, lane, box_of(page, "Lane_applicant")["width"] * 0.3)
    name_it(page, "unit_check", "單位確認 Unit check")
    page.check("#spiff-formless")
    page.fill("#spiff-clauses", "R3.3")
    page.press("#spiff-clauses", "Tab")
    expect(page.locator("#spiff-clauses-note")).to_contain_text("R3.3")

    clear_selection(page)
    click_at(page, "flow_start")
    page.click('.djs-context-pad .entry[data-action="delete"]')
    connect(page, "start_event", "unit_check")
    connect(page, "unit_check", "submit_request")

    page.click("#validate-button")
    expect(page.locator("#modeler-status")).to_contain_text("The model is valid")
    page.fill("#deploy-message", "單位先確認 Unit admin checks first")
    page.click("#deploy-button")
    expect(page.locator("#modeler-status")).to_contain_text(re.compile(r"Deployed version \d+"))

    page.goto(live_server + MODEL + "/versions")
    expect(page.locator("table.versions")).to_contain_text("Unit admin checks first")
    expect(page.locator('#diff-right .diff-added[data-element-id="unit_check"]')).to_have_count(1)
    expect(page.locator('#diff-left .diff-removed[data-element-id="flow_start"]')).to_have_count(1)
    log_out(page)

    log_in(page, live_server, "dsw.staff")
    page.click(f"button[data-process={PROCESS}]")
    expect(page).to_have_url(re.compile(r"/instances/\d+$"))
    expect(page.locator("table.ready-tasks")).to_contain_text("單位確認 Unit check")
    expect(page.locator('g.djs-element.ready-task[data-element-id="unit_check"]')).to_have_count(1)
    log_out(page)

    log_in(page, live_server, "dsw.unit")
    expect(page.locator("main")).to_contain_text("單位確認 Unit check")


def test_validation_names_and_selects_the_offending_element(live_server, page):
    log_in(page, live_server, "dol.analyst")
    deploy_small_model(page, live_server)
    open_model(page, live_server)
    lane = add_lane(page, "agency_admin")
    add_user_task(page, lane, box_of(page, lane)["width"] * 0.3)
    name_it(page, "orphan_task", "孤兒任務 Orphan")
    page.click("#validate-button")
    expect(page.locator("#modeler-status")).to_contain_text("problem")
    problems = page.locator("#problem-list")
    expect(problems).to_contain_text("orphan_task")
    expect(problems).to_contain_text("no form")
    expect(problems).to_contain_text("no sequence flow leads here")
    expect(page.locator('g.djs-element.problem[data-element-id="orphan_task"]')).to_have_count(1)
    clear_selection(page)
    page.locator("#problem-list button[data-element=orphan_task]").first.click()
    assert selected(page) == ["orphan_task"]
    page.fill("#deploy-message", "should not deploy")
    page.click("#deploy-button")
    expect(page.locator("#modeler-status")).to_contain_text("problem")
    page.goto(live_server + MODEL + "/versions")
    expect(page.locator("table.versions tbody tr")).to_have_count(1)  # only the version deployed above


def test_timer_expressions_get_a_readable_preview_and_bad_ones_are_refused(live_server, page):
    log_in(page, live_server, "dol.analyst")
    deploy_small_model(page, live_server)
    open_model(page, live_server)
    click_at(page, "cool_off", 0.5, 0.3)
    expect(page.locator("#spiff-timer-preview")).to_contain_text("fires 1 hour after it starts waiting")
    page.select_option("#spiff-timer-kind", "timeCycle")
    page.fill("#spiff-timer", '"R/2027-02-01T00:00:00+08:00/P1M"')
    expect(page.locator("#spiff-timer-preview")).to_contain_text("every first of the month at 00:00, Asia/Taipei")
    expect(page.locator("#spiff-timer-preview")).to_contain_text("fixed 28 days")
    page.select_option("#spiff-timer-kind", "timeDuration")
    page.fill("#spiff-timer", '"P5X"')
    page.press("#spiff-timer", "Tab")
    expect(page.locator("#spiff-timer-preview")).to_contain_text("not an ISO 8601 duration")
    page.click("#validate-button")
    expect(page.locator("#problem-list")).to_contain_text("cool_off")
    expect(page.locator("#problem-list")).to_contain_text("not an ISO 8601 duration")


def test_without_a_deploy_role_the_model_is_read_only(live_server, page):
    log_in(page, live_server, "dol.analyst")
    deploy_small_model(page, live_server)
    log_out(page)
    log_in(page, live_server, "dsw.admin")
    open_model(page, live_server)
    expect(page.locator(".readonly-note")).to_be_visible()
    expect(page.locator("#deploy-button")).to_have_count(0)
    expect(page.locator(".djs-palette")).to_have_count(0)
    click_at(page, "Lane_applicant", fx=0.02)
    expect(page.locator("#spiff-lane-role")).to_be_disabled()
    expect(page.locator("#spiff-lane-role")).to_have_value("applicant")


def test_test_run_walks_the_edited_diagram_on_its_own_clock_and_leaves_nothing(live_server, page):
    log_in(page, live_server, "dol.analyst")
    deploy_small_model(page, live_server)
    open_model(page, live_server)
    click_at(page, "cool_off", 0.5, 0.3)  # edit, do not deploy: the test run takes the diagram as it is now
    page.fill("#spiff-timer", '"PT3H"')
    page.press("#spiff-timer", "Tab")
    page.click("#test-run-start")
    expect(page.locator("#test-run")).to_be_visible()
    expect(page.locator("#test-run-tasks li[data-task=submit_request]")).to_have_count(1)
    expect(page.locator('g.djs-element.test-run-ready[data-element-id="submit_request"]')).to_have_count(1)
    page.click("#test-run-tasks button[data-task=submit_request]")
    expect(page.locator("#test-run-status")).to_have_text("waiting")
    expect(page.locator('g.djs-element.test-run-done[data-element-id="submit_request"]')).to_have_count(1)
    page.fill("#test-run-advance", "PT2H")
    page.click("#test-run-advance-button")
    expect(page.locator("#modeler-status")).to_contain_text("Clock advanced")
    expect(page.locator("#test-run-status")).to_have_text("waiting")  # the edited timer: 3 hours, not 1
    page.click("#test-run-advance-button")
    expect(page.locator("#test-run-status")).to_have_text("completed")
    expect(page.locator("#test-run-path")).to_contain_text("cool_off → end_event")
    instances = page.request.get(f"{live_server}/api/v1/process-instances?process_id={PROCESS}").json()
    assert instances["total"] == 0  # nothing in the real process list
    page.click("#test-run-end")
    expect(page.locator("#test-run")).to_be_hidden()
    expect(page.locator("g.djs-element.test-run-done")).to_have_count(0)


def test_draft_is_kept_on_the_server_and_offered_on_the_next_visit(live_server, page):
    log_in(page, live_server, "dol.analyst")
    deploy_small_model(page, live_server)
    open_model(page, live_server)
    click_at(page, "submit_request", 0.5, 0.3)
    page.fill("#spiff-clauses", "R5.3")
    page.press("#spiff-clauses", "Tab")
    page.click("#save-draft")
    expect(page.locator("#modeler-status")).to_contain_text("Draft saved on the server")
    page.context.clear_cookies()  # a new session: the draft is not in this browser
    log_in(page, live_server, "dol.analyst")
    open_model(page, live_server)
    expect(page.locator("#draft-notice")).to_be_visible()
    page.click("#draft-restore")
    expect(page.locator("#modeler-status")).to_contain_text("Draft restored")
    click_at(page, "submit_request", 0.5, 0.3)
    expect(page.locator("#spiff-clauses")).to_have_value("R5.3")
    page.click("#draft-discard") if page.locator("#draft-notice").is_visible() else None
    log_out(page)
    log_in(page, live_server, "dol.admin")  # another deployer has no draft of their own
    open_model(page, live_server)
    expect(page.locator("#draft-notice")).to_be_hidden()


def test_pickers_offer_deployed_processes_and_the_modeler_speaks_zh_tw_first(live_server, page):
    log_in(page, live_server, "dol.analyst")
    page.goto(live_server + "/modeler/agency_onboarding")
    expect(page.locator("#canvas[data-rendered=true]")).to_be_attached()
    title = page.evaluate("() => window.webirModeler.get('palette').getEntries()['create.task'].title")
    assert title.startswith("新增任務") and "Create task" in title
    page.evaluate("() => { const m = window.webirModeler; m.get('selection').select("
                  "m.get('elementRegistry').get('obtain_delegation_consent')); }")
    expect(page.locator("#spiff-called-process")).to_have_value("delegation_consent")
    expect(page.locator("#spiff-called-note")).to_contain_text("委託機關同意")
    options = page.locator("#spiff-process-ids option").evaluate_all("os => os.map(o => o.value)")
    assert {"delegation_consent", "password_rotation", "user_account_application"} <= set(options)
    page.fill("#spiff-called-process", "no_such_process")
    expect(page.locator("#spiff-called-note")).to_contain_text("Not a deployed process")
    expect(page.locator(".bio-properties-panel-group-header").first).to_contain_text("一般 General")
